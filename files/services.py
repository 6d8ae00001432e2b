"""Every write to revisions and uploads. The API, the admin, tasks and commands call these.

Files build on parts: a part's revisions are numbered and deleted under the part's own
lock (parts.services.part_lock, the lock the moves take), an upload goes on the part's
timeline through parts.services, and a part is deleted with its files here.

Storage I/O never happens inside a database transaction: an object is written first and
its row after, and an object whose row could not be written is deleted again, so no row
points to a missing object and a failed upload leaves nothing behind. Revision numbers
are allocated under a lock on the part, so concurrent uploads never collide.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from files import permissions, scanning
from files.limits import max_upload_bytes, too_large
from files.models import EXTENSIONS, ConversionStatus, Kind, Revision, ScanStatus, Upload, UploadStatus, content_type_for
from files.names import filename_clean
from files.queueing import conversion_queue
from files.step_header import InvalidContent, sniff_dxf, sniff_pdf, sniff_step, sniff_step_end
from files.storage import PartsGone, new_revision_key, part_size_for, upload_expiry, vault
from partsite.errors import Conflict, DomainError, Invalid, Unprocessable
from partsite.outages import unavailable
from partsite.events import EventType, event_record
from parts import permissions as part_permissions
from parts.services import check_part_takes_files, part_delete, part_lock, part_upload_record

logger = logging.getLogger(__name__)


def kind_for_filename(filename, kind=None):
    """The kind a file is, by its extension; with `kind` given, the extension must fit it."""
    extension = Path(filename).suffix.lower()
    if kind:
        if extension not in EXTENSIONS[kind]:
            allowed = " or ".join(EXTENSIONS[kind])
            raise Invalid(f"A {Kind(kind).label if kind == Kind.STEP else 'drawing'} must be a {allowed} file; {filename!r} is not.", field="file")
        return Kind(kind)
    for candidate, extensions in EXTENSIONS.items():
        if extension in extensions:
            return candidate
    raise Invalid(
        f"{filename!r} is neither a STEP model nor a drawing: the allowed extensions are .step, .stp, .pdf and .dxf.",
        field="file",
    )


def check_size(size):
    if size == 0:
        raise Invalid("The file is empty (0 bytes).", field="file")
    if size > max_upload_bytes():
        raise too_large(f"it is {size / 2**20:.0f} MB")


def check_content(kind, digest, filename):
    """The STEP header for a STEP file (None for a drawing); Invalid when it is not what it claims,
    or a STEP file cut short. `digest` holds the first and last bytes seen as the file streamed."""
    try:
        if kind != Kind.STEP:
            return sniff_dxf(digest.head) if Path(filename).suffix.lower() == ".dxf" else sniff_pdf(digest.head)
        header = sniff_step(digest.head)
        sniff_step_end(digest.tail)
        return header
    except InvalidContent as refused:
        raise Invalid(f"{filename}: {refused}", field="file") from None


def check_not_a_revision_yet(part, sha256):
    existing = Revision.objects.filter(part=part, sha256=sha256).first()
    if existing:
        raise Conflict(
            f"This file is already revision {existing.label} of {part.part_number} ({existing.filename}).",
            revision=existing.pk,
        )


def revision_upload(*, part, actor, uploaded_file, description="", kind=None, onshape=None):
    """A new revision from a file the upload handler spooled and digested (or an Onshape import
    downloaded, which names where it came from in `onshape`: the Revision's onshape_* fields)."""
    permissions.check_may_upload(actor)
    check_part_takes_files(part)
    filename = filename_clean(uploaded_file.name)
    kind = kind_for_filename(filename, kind)
    digest = uploaded_file.digest
    check_size(digest.size)
    header = check_content(kind, digest, filename)
    check_not_a_revision_yet(part, digest.sha256)
    key = uploaded_file.storage_key  # named by the upload handler as the file arrived
    vault().save_upload(uploaded_file)
    return _revision_record(
        part=part, actor=actor, kind=kind, key=key, filename=filename, description=description,
        digest=digest, header=header, source=onshape or {},
    )


def _revision_record(
    *, part, actor, kind, key, filename, description, digest, header, source=None, keep_object_on_failure=False
):
    """Write the row for an object already stored at `key`; on any failure the object goes, unless
    kept for a caller that still owns it (a direct upload, which the client may complete again)."""
    try:
        with transaction.atomic():
            part = part_lock(part.pk)
            check_part_takes_files(part)
            check_not_a_revision_yet(part, digest.sha256)
            last = Revision.objects.filter(part=part, kind=kind).aggregate(Max("number"))["number__max"]
            revision = Revision(
                part=part, kind=kind, number=(last or 0) + 1, filename=filename, description=description,
                size=digest.size, sha256=digest.sha256, content_type=content_type_for(kind, filename), storage_key=key,
                uploaded_by=actor, scan_status=scanning.initial_status(), **(source or {}),
            )
            if revision.scan_status == ScanStatus.PENDING:
                revision.scan_queued_at = timezone.now()
            if header:
                revision.schema = header.schema_family
                revision.file_schema = header.file_schema
                revision.originating_system = header.originating_system
                revision.preprocessor = header.preprocessor_version
                revision.author = header.author
                revision.organization = header.organization
                revision.file_timestamp = header.timestamp
                revision.product_names = header.product_names
                revision.conversion_status = ConversionStatus.PENDING
                revision.conversion_queued_at = timezone.now()
            revision.save()
            part_upload_record(part=part, actor=actor, note=f"{revision.label} {revision.filename}")
            event_record(EventType.REVISION_UPLOADED, actor=actor, part=part, revision=revision)
            if revision.scan_status == ScanStatus.PENDING:
                scanning.scan_queue(revision.pk)
            if kind == Kind.STEP:
                _queue_conversion(revision.pk)
    except BaseException as error:
        if not keep_object_on_failure or isinstance(error, DomainError):
            _quietly(vault().delete, key)
        raise
    return revision


def _queue_conversion(revision_id):
    # robust: a broker that is down must not undo the upload; the requeue task catches up.
    transaction.on_commit(lambda: conversion_queue(revision_id), robust=True)


def revision_delete(*, revision, actor):
    permissions.check_may_manage_revisions(actor)
    with transaction.atomic():
        # The part is locked first, as approving and completing lock it: neither can pin this revision meanwhile.
        pinned_by = part_lock(revision.part_id)
        revision = Revision.objects.select_for_update().filter(pk=revision.pk).first()
        if revision is None:
            return
        if revision.pk in (pinned_by.approved_revision_id, pinned_by.approved_drawing_id):
            raise Conflict(f"{revision.label} is the approved revision of its part and cannot be deleted.")
        if revision.pk in (pinned_by.built_revision_id, pinned_by.built_drawing_id):
            raise Conflict(f"{revision.label} is the revision its part was built from and cannot be deleted.")
        keys = [revision.storage_key, revision.glb_key, revision.preview_key, revision.dxf_key, revision.glb_compact_key,
                revision.glb_coarse_key]
        event_record(EventType.REVISION_DELETED, actor=actor, part=pinned_by, revision=revision)
        revision.delete()
        transaction.on_commit(lambda: [vault().delete(key) for key in keys])


def part_delete_with_files(*, part, actor):
    """Delete a part with its revisions and unfinished uploads, whose stored files go once that is
    committed. A part whose approved or built revision is on record is refused: retire it instead."""
    part_permissions.check_may_delete(actor)
    with transaction.atomic():
        part = part_lock(part.pk)
        if Revision.objects.filter(part=part).pinned().exists():
            raise Conflict(
                f"{part.part_number} has an approved or built revision, so it cannot be deleted; retire it instead.",
            )
        stored = Revision.objects.filter(part=part).values_list("storage_key", "glb_key", "preview_key", "dxf_key", "glb_compact_key", "glb_coarse_key",
        )
        keys = [key for row in stored for key in row]
        uploads = list(Upload.objects.filter(part=part, status=UploadStatus.OPEN))
        Revision.objects.filter(part=part).delete()
        part_delete(part=part, actor=actor)

        def clean_up():
            for key in keys:
                vault().delete(key)
            for upload in uploads:
                _upload_discard(upload)

        transaction.on_commit(clean_up)


def revision_reconvert(*, revision, actor):
    permissions.check_may_manage_revisions(actor)
    if revision.kind != Kind.STEP:
        raise Conflict("Only STEP revisions are converted to 3D models.")
    with transaction.atomic():
        updated = Revision.objects.filter(
            pk=revision.pk, conversion_status__in=[ConversionStatus.READY, ConversionStatus.FAILED]
        ).update(
            conversion_status=ConversionStatus.PENDING, conversion_error="", conversion_attempts=0,
            conversion_queued_at=timezone.now(), conversion_started_at=None, conversion_finished_at=None,
        )
        if not updated:
            raise Conflict(f"{revision.label} is already waiting for or in conversion.")
        _queue_conversion(revision.pk)
    revision.refresh_from_db()
    return revision


# Direct uploads


def upload_start(*, part, actor, filename, size, sha256="", description="", kind=None):
    permissions.check_may_upload(actor)
    check_part_takes_files(part)
    filename = filename_clean(filename)
    kind = kind_for_filename(filename, kind)
    check_size(size)
    sha256 = (sha256 or "").lower()
    if sha256:
        check_not_a_revision_yet(part, sha256)
    upload = Upload(
        part=part, kind=kind, filename=filename, description=description, size=size,
        declared_sha256=sha256, part_size=part_size_for(size), storage_key=new_revision_key(kind, filename),
        created_by=actor, expires_at=upload_expiry(),
    )
    vault().start_upload(upload)
    try:
        upload.save()
    except BaseException:
        vault().discard_parts(upload)
        raise
    return upload


def upload_received(upload):
    """{part number: bytes} of the parts that arrived whole."""
    if upload.status != UploadStatus.OPEN:
        return {}
    try:
        received = vault().parts_received(upload)
    except PartsGone as gone:
        reason = f"The parts of this upload are gone: {gone}. Start a new upload."
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
            status=UploadStatus.FAILED, error=reason, parts_discarded_at=timezone.now()
        )
        upload.refresh_from_db()
        raise Conflict(reason, status=upload.status) from None
    return {number: size for number, size in received.items() if size == upload.part_length(number)}


def _check_open(upload):
    if upload.status != UploadStatus.OPEN:
        raise Conflict(f"This upload is {UploadStatus(upload.status).label.lower()}.", status=upload.status)
    if upload.expires_at <= timezone.now():
        raise Conflict("This upload has expired; start a new one.", status=UploadStatus.EXPIRED)


def upload_part_receive(*, upload, number, length, chunks):
    """Store one part sent to its Partsite part URL; `chunks` must carry exactly `length` bytes."""
    _check_open(upload)
    if not 1 <= number <= upload.part_count:
        raise Invalid(f"This upload has parts 1 to {upload.part_count}; there is no part {number}.")
    expected = upload.part_length(number)
    if length != expected:
        raise Invalid(f"Part {number} must be exactly {expected} bytes; the request says {length}.")
    vault().write_part(upload, number, _exactly(chunks, expected, number))


def _exactly(chunks, expected, number):
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > expected:
            break
        yield chunk
    if received != expected:
        raise Invalid(f"Part {number} must be exactly {expected} bytes; {received} arrived.")


def upload_complete(*, upload, actor):
    """Join the parts, verify size, SHA-256 and content, and make the revision.

    A file that fails verification fails the upload for good, with the reason. Storage or
    the database failing on the way is nobody's verdict on the file: the upload goes back to
    `open` with the reason, its parts (or the object already joined from them) kept, and the
    client completes it again. Should even that write fail, uploads_expire reopens an upload
    left `completing` past UPLOAD_COMPLETING_STALE_MINUTES.
    """
    permissions.check_may_use_upload(actor, upload)
    _check_open(upload)
    recorded = Revision.objects.filter(storage_key=upload.storage_key).first()
    if recorded is not None:  # completed before, but the database missed the upload's last step
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
            status=UploadStatus.COMPLETED, revision=recorded, error=""
        )
        _upload_discard(upload)
        return recorded
    joined = vault().exists(upload.storage_key)  # completed as far as storage goes, before something failed
    if not joined:
        received = upload_received(upload)
        missing = [number for number in range(1, upload.part_count + 1) if number not in received]
        if missing:
            raise Conflict(
                f"Not all parts have arrived yet; missing: {', '.join(map(str, missing[:50]))}"
                f"{' and more' if len(missing) > 50 else ''}.",
                missing=missing,
            )
    if not Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(
        status=UploadStatus.COMPLETING, completing_started_at=timezone.now()
    ):
        raise Conflict("This upload is already being completed.")
    try:
        digest = vault().digest(upload.storage_key) if joined else vault().assemble(upload)
        _verify_assembled(upload, digest)
        header = check_content(upload.kind, digest, upload.filename)
        revision = _revision_record(
            part=upload.part, actor=upload.created_by or actor, kind=upload.kind, key=upload.storage_key,
            filename=upload.filename, description=upload.description, digest=digest, header=header,
            keep_object_on_failure=True,
        )
    except DomainError as refused:
        _upload_fail(upload, refused.message)
        raise
    except BaseException as error:
        _upload_reopen(upload, f"Completing was interrupted ({_cause(error)}); complete the upload again.")
        raise
    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.COMPLETED, revision=revision, error="")
    _upload_discard(upload)
    return revision


def _cause(error):
    outage = unavailable(error)
    return outage[1].rstrip(".") if outage else f"{type(error).__name__}: {error}"


def _upload_fail(upload, reason):
    """The file was refused: the upload fails with the reason and its parts and object go."""
    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.FAILED, error=reason[:2000])
    if not Revision.objects.filter(storage_key=upload.storage_key).exists():
        _quietly(vault().delete, upload.storage_key)
    _upload_discard(upload)


def _upload_reopen(upload, reason):
    """Back to `open`, keeping parts and object, so the client can complete again; quiet if the database is down too."""
    try:
        Upload.objects.filter(pk=upload.pk, status=UploadStatus.COMPLETING).update(
            status=UploadStatus.OPEN, error=reason[:2000], completing_started_at=None
        )
    except Exception:
        logger.exception("upload %s stays completing until uploads_expire reopens it", upload.pk)


def _quietly(action, *args):
    try:
        action(*args)
    except Exception:  # storage trouble: what is left behind, verify_storage and the clean-up find
        logger.exception("%s%r failed", getattr(action, "__name__", action), args)


def _verify_assembled(upload, digest):
    if digest.size != upload.size:
        raise Unprocessable(f"{digest.size} bytes arrived but the upload was declared as {upload.size} bytes.")
    if upload.declared_sha256 and digest.sha256 != upload.declared_sha256:
        raise Unprocessable(
            f"The file's SHA-256 is {digest.sha256}, not the declared {upload.declared_sha256}; "
            "it was damaged on the way and has been discarded. Upload it again.",
            sha256=digest.sha256,
        )


def upload_abort(*, upload, actor):
    permissions.check_may_use_upload(actor, upload)
    if not Upload.objects.filter(pk=upload.pk, status=UploadStatus.OPEN).update(status=UploadStatus.ABORTED):
        upload.refresh_from_db()
        raise Conflict(f"This upload is {UploadStatus(upload.status).label.lower()}; it cannot be aborted.")
    _upload_discard(upload)


def _upload_discard(upload):
    try:
        vault().discard_parts(upload)
    except Exception:  # storage trouble: uploads_expire tries again
        logger.exception("could not discard the parts of upload %s", upload.pk)
        return
    Upload.objects.filter(pk=upload.pk).update(parts_discarded_at=timezone.now())


def uploads_expire():
    """Expire uploads abandoned past their expiry, reopen those left `completing` by a completion
    that died, and discard the parts of every finished one. Returns how many uploads expired."""
    stale = timezone.now() - timedelta(minutes=settings.UPLOAD_COMPLETING_STALE_MINUTES)
    for upload in Upload.objects.filter(status=UploadStatus.COMPLETING, completing_started_at__lt=stale):
        recorded = Revision.objects.filter(storage_key=upload.storage_key).first()
        interrupted = Upload.objects.filter(
            pk=upload.pk, status=UploadStatus.COMPLETING, completing_started_at=upload.completing_started_at
        )
        if recorded is not None:
            interrupted.update(status=UploadStatus.COMPLETED, revision=recorded, error="")
        else:
            interrupted.update(
                status=UploadStatus.OPEN, completing_started_at=None,
                error="Completing was interrupted; complete the upload again.",
            )
    expired = Upload.objects.filter(
        status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING], expires_at__lte=timezone.now()
    )
    count = 0
    for upload in expired:
        if Upload.objects.filter(pk=upload.pk, status=upload.status).update(status=UploadStatus.EXPIRED):
            if not Revision.objects.filter(storage_key=upload.storage_key).exists():
                _quietly(vault().delete, upload.storage_key)
            count += 1
    finished = Upload.objects.exclude(status__in=[UploadStatus.OPEN, UploadStatus.COMPLETING])
    for upload in finished.filter(parts_discarded_at__isnull=True):
        _upload_discard(upload)
    return count
