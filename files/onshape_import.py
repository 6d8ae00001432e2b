"""Revisions from Onshape: export the element a part links to and store it as an upload would be.

`onshape_import_start` checks who asks and the part's link, records an OnshapeImport and queues
its task; `onshape_import_step` moves it one step each time the task runs, and returns when it
is due again:

    queued       ask Onshape what the element is and which microversion its link shows now;
                 ask for a STEP (part studio, assembly) or a PDF (drawing)       -> translating
    translating  ACTIVE: look again in ONSHAPE_POLL_SECONDS, and give up after
                 ONSHAPE_TRANSLATION_TIMEOUT_SECONDS; FAILED: failed, with Onshape's reason;
                 DONE: download it and store it through the upload's own path (the same checks,
                 duplicate detection and conversion), recording where it came from  -> done

A part studio or assembly linked by workspace or version is exported at the microversion read
just before (`/m/<microversion>`), so the revision records exactly what was exported; drawings
are exported from the workspace or version itself (Onshape exports them only from those). The
same microversion of the same element imported again is refused: it would be the same model.
Onshape unreachable or overloaded is tried again a few times; anything else fails the import with
the reason, which the part page and the API show.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from files import permissions, queueing, services
from files.models import CONTENT_TYPES, ImportStatus, Kind, OnshapeImport, Revision
from files.onshape import Onshape, OnshapeError
from files.storage import Digest, vault
from files.limits import max_upload_bytes
from partsite.errors import Conflict, DomainError, Invalid
from parts.onshape import WVM_NAMES, onshape_ref
from parts.services import check_part_takes_files

logger = logging.getLogger(__name__)

# What each kind of Onshape tab is exported as: (API collection, format, revision kind, extension).
EXPORTS = {
    "PARTSTUDIO": ("partstudios", "STEP", Kind.STEP, ".step"),
    "ASSEMBLY": ("assemblies", "STEP", Kind.STEP, ".step"),
    "DRAWING": ("drawings", "PDF", Kind.DRAWING, ".pdf"),
}
UNDER_WAY = (ImportStatus.QUEUED, ImportStatus.TRANSLATING)
# Onshape unreachable, rate-limiting or failing: tried again after 30 s, 1, 2 and 4 minutes.
MAX_FAILURES = 5
# While a worker moves an import along, nobody else does; a worker lost that long ago is presumed dead.
LEASE = timedelta(minutes=30)


def is_configured():
    return bool(settings.ONSHAPE_ACCESS_KEY and settings.ONSHAPE_SECRET_KEY)


def onshape_import_start(*, part, actor):
    """Queue an import of the part's Onshape element; a 409 when one is already under way."""
    permissions.check_may_upload(actor)
    check_part_takes_files(part)
    if not part.onshape_url:
        raise Conflict(f"{part.part_number} has no Onshape link; add one first.", field="onshape_url")
    try:
        ref = onshape_ref(part.onshape_url)
    except ValidationError as refused:
        raise Invalid(refused.messages[0], field="onshape_url") from None
    if not is_configured():
        raise Conflict("Onshape import is not set up here: ONSHAPE_ACCESS_KEY and ONSHAPE_SECRET_KEY are not set.")
    with transaction.atomic():
        running = OnshapeImport.objects.select_for_update().filter(part=part, status__in=UNDER_WAY).first()
        if running:
            raise Conflict(f"An import of {part.part_number} from Onshape is already under way.", onshape_import=running.pk)
        started = OnshapeImport.objects.create(
            part=part, requested_by=actor, document_id=ref.document, wvm=ref.wvm, wvm_id=ref.wvm_id,
            element_id=ref.element,
        )
        _queue(started.pk)
    return started


def _queue(import_id, countdown=None):
    transaction.on_commit(lambda: queueing.import_queue(import_id, countdown), robust=True)


def onshape_import_step(import_id):
    """Take an import one step further if it is due; the seconds until its next step, or None when none is due."""
    now = timezone.now()
    claimed = OnshapeImport.objects.filter(pk=import_id, status__in=UNDER_WAY, next_step_at__lte=now).update(
        next_step_at=now + LEASE,
    )
    if not claimed:
        return None
    started = OnshapeImport.objects.select_related("part", "requested_by").get(pk=import_id)
    client = Onshape.from_settings()
    try:
        if started.status == ImportStatus.QUEUED:
            return _translate(started, client)
        return _look(started, client)
    except OnshapeError as error:
        if error.retry and started.failures + 1 < MAX_FAILURES:
            wait = 30 * 2**started.failures
            OnshapeImport.objects.filter(pk=import_id).update(
                failures=started.failures + 1, error=str(error), next_step_at=timezone.now() + timedelta(seconds=wait),
            )
            return wait
        _fail(started, str(error))
    except DomainError as refused:  # the file's checks, a duplicate, a retired part, a lost role
        _fail(started, refused.message)
    return None


def _translate(started, client):
    element = client.element(started.document_id, started.wvm, started.wvm_id, started.element_id)
    element_type, name = element.get("elementType", ""), element.get("name") or "Onshape export"
    if element_type not in EXPORTS:
        return _fail(started, f"“{name}” is a {element_type.lower() or 'kind of'} tab; only part studios, "
                              "assemblies and drawings can be imported.")
    collection, format_name, kind, _ = EXPORTS[element_type]
    if started.wvm == "m":
        microversion, wvm, wvm_id = started.wvm_id, "m", started.wvm_id
    else:
        microversion = client.current_microversion(started.document_id, started.wvm, started.wvm_id)
        wvm, wvm_id = ("m", microversion) if kind == Kind.STEP else (started.wvm, started.wvm_id)
    if kind == Kind.DRAWING and wvm == "m":
        return _fail(started, "Onshape exports drawings only from a workspace or a version; link one of those.")
    already = Revision.objects.filter(
        part=started.part, kind=kind, onshape_element_id=started.element_id, onshape_microversion_id=microversion,
    ).first()
    if already:
        return _fail(started, f"This state of “{name}” is already revision {already.label}; change it in Onshape "
                              "first.")
    translation = client.translation_start(collection, started.document_id, wvm, wvm_id, started.element_id, format_name)
    poll = settings.ONSHAPE_POLL_SECONDS
    OnshapeImport.objects.filter(pk=started.pk).update(
        element_type=element_type, element_name=name[:255], microversion_id=microversion,
        translation_id=translation["id"], status=ImportStatus.TRANSLATING, error="",
        next_step_at=timezone.now() + timedelta(seconds=poll),
    )
    return poll


def _look(started, client):
    state = client.translation(started.translation_id)
    request_state = state.get("requestState")
    if request_state == "FAILED":
        return _fail(started, f"Onshape could not export “{started.element_name}”: "
                              f"{state.get('failureReason') or 'it gave no reason'}.")
    if request_state != "DONE":
        limit = settings.ONSHAPE_TRANSLATION_TIMEOUT_SECONDS
        if timezone.now() - started.created_at > timedelta(seconds=limit):
            return _fail(started, f"Onshape did not finish exporting “{started.element_name}” within {limit} s.")
        poll = settings.ONSHAPE_POLL_SECONDS
        OnshapeImport.objects.filter(pk=started.pk).update(next_step_at=timezone.now() + timedelta(seconds=poll))
        return poll
    results = state.get("resultExternalDataIds") or []
    if len(results) != 1:
        return _fail(started, f"Onshape's export gave {len(results)} files instead of one.")
    revision = _store(started, client, results[0])
    OnshapeImport.objects.filter(pk=started.pk).update(
        status=ImportStatus.DONE, revision=revision, error="", finished_at=timezone.now(),
    )
    logger.info("Onshape import %s stored as revision %s", started.pk, revision.pk)
    return None


class _Receiving:
    """Feeds what Onshape sends to the vault's upload receiver, digesting it on the way: what the upload
    handler does with a browser's upload (files.upload_handler.DigestingUploadHandler)."""

    def __init__(self, receiver):
        self.receiver, self.digest = receiver, Digest()

    def write(self, chunk):
        self.digest.update(chunk)
        self.receiver.write(chunk)


def _store(started, client, external_id):
    """Download the export into the vault's upload receiver, and add it as an upload is added."""
    _, _, kind, extension = EXPORTS[started.element_type]
    filename = _safe_name(started.element_name) + extension
    receiver = vault().upload_receiver(filename, content_type=CONTENT_TYPES[kind], largest=max_upload_bytes())
    try:
        receiving = _Receiving(receiver)
        size = client.download(started.document_id, external_id, receiving, max_bytes=max_upload_bytes())
        exported = receiver.finish(size)
        exported.digest = receiving.digest
        return services.revision_upload(
            part=started.part, actor=started.requested_by, uploaded_file=exported, kind=kind,
            description=f"Imported from Onshape: “{started.element_name}”, {WVM_NAMES[started.wvm]} "
                        f"{started.wvm_id}, microversion {started.microversion_id}.",
            onshape={
                "onshape_document_id": started.document_id, "onshape_element_id": started.element_id,
                "onshape_wvm": started.wvm, "onshape_wvm_id": started.wvm_id,
                "onshape_microversion_id": started.microversion_id,
            },
        )
    finally:
        receiver.discard()  # whatever was received and not stored; nothing once it is a revision


def _safe_name(name):
    """The element's name as a file name: no folders, no control characters, not empty."""
    cleaned = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "_", name).strip(" ._")
    return cleaned[:200] or "onshape-export"


def _fail(started, reason):
    OnshapeImport.objects.filter(pk=started.pk).update(
        status=ImportStatus.FAILED, error=reason[:2000], finished_at=timezone.now(),
    )
    logger.info("Onshape import %s failed: %s", started.pk, reason)


def onshape_imports_requeue():
    """Queue again the imports whose message was lost (due a while ago, or held by a lost worker). Returns how many."""
    ids = list(OnshapeImport.objects.filter(
        status__in=UNDER_WAY, next_step_at__lt=timezone.now() - timedelta(minutes=1),
    ).values_list("pk", flat=True))
    for import_id in ids:
        _queue(import_id)
    return len(ids)
