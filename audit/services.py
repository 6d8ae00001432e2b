from audit.models import FileAccess
from partsite.auth import client_address


def file_access_record(*, request, revision, access):
    address = client_address(request)
    return FileAccess.objects.create(
        access=access,
        user=request.user if request.user.is_authenticated else None,
        revision=revision,
        part_id=revision.part_id,
        what=f"{revision.part.part_number} {revision.label} {revision.filename} (sha256 {revision.sha256})"[:400],
        client_address=None if address == "unknown" else address,
    )
