import re

from audit.models import FileAccess
from partsite.auth import client_address


def file_access_record(*, request, revision, access):
    """Record a download or preview; the later pieces of a ranged or resumed one are not new accesses."""
    if not _starts_at_the_beginning(request):
        return None
    address = client_address(request)
    return FileAccess.objects.create(
        access=access,
        user=request.user if request.user.is_authenticated else None,
        revision=revision,
        part_id=revision.part_id,
        what=f"{revision.part.part_number} {revision.label} {revision.filename} (sha256 {revision.sha256})"[:400],
        client_address=None if address == "unknown" else address,
    )


def file_accesses_record(*, request, revisions, access):
    """Record one access per revision, all at once: the files of an archive, which is never sent in ranges."""
    address = client_address(request)
    return FileAccess.objects.bulk_create(
        FileAccess(
            access=access,
            user=request.user if request.user.is_authenticated else None,
            revision=revision,
            part_id=revision.part_id,
            what=f"{revision.part.part_number} {revision.label} {revision.filename} (sha256 {revision.sha256})"[:400],
            client_address=None if address == "unknown" else address,
        )
        for revision in revisions
    )


def _starts_at_the_beginning(request):
    match = re.match(r"\s*bytes\s*=\s*(\d*)\s*-", request.headers.get("Range", ""))
    return match is None or match[1] in ("", "0")
