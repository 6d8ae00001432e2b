"""Scanning revisions for malware, and refusing to serve a file that is not known to be clean.

A new revision is `pending` when scanning is on (CLAMAV_ADDRESS; files.scanner) and its scan is
queued once its row commits; otherwise it is `not_scanned`. The worker streams the stored file
to clamd and records `clean`, `infected` (with the signature; the file stays in storage, in
quarantine, and an event tells the leads) or `error`. clamd out of reach leaves the scan
pending, to be tried again by the periodic sweep, MAX_ATTEMPTS times.

`check_servable` is asked before any of a revision's bytes are served (its file, its 3D model,
the drawing view, archives): an infected file never is; with scanning on, nothing but a clean
one is. Revisions uploaded while scanning was off are scanned by the sweep once it is on.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from files import permissions, queueing, scanner
from files.models import Revision, ScanStatus
from files.storage import vault
from partsite.errors import Conflict
from partsite.events import EventType, event_record

logger = logging.getLogger(__name__)

# clamd out of reach this many times in a row: the scan is an `error`, until a lead asks again.
MAX_ATTEMPTS = 5
# A scan still pending this long lost its message or found clamd away; the sweep queues it again.
PENDING_REQUEUE = timedelta(minutes=5)
# At most this many scans queued by one sweep, so that turning scanning on does not flood the queue.
SWEEP_BATCH = 500


def initial_status():
    return ScanStatus.PENDING if scanner.is_enabled() else ScanStatus.NOT_SCANNED


def scan_queue(revision_id):
    """Queue the revision's scan once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: queueing.scan_queue(revision_id), robust=True)


def revision_scan(revision_id):
    """Scan a pending revision's file and record the verdict; returns the verdict, or None when nothing was done."""
    revision = Revision.objects.select_related("part", "uploaded_by").filter(
        pk=revision_id, scan_status=ScanStatus.PENDING,
    ).first()
    if revision is None or not scanner.is_enabled():
        return None
    try:
        verdict = scanner.scan(vault().chunks(revision.storage_key))
    except scanner.ScannerUnavailable as unavailable:
        _not_now(revision, str(unavailable))
        return None
    except FileNotFoundError:
        verdict = scanner.Verdict(ScanStatus.ERROR, error="The file is missing from storage.")
    with transaction.atomic():
        recorded = Revision.objects.filter(pk=revision.pk, scan_status=ScanStatus.PENDING).update(
            scan_status=verdict.status, scan_signature=verdict.signature[:200], scan_error=verdict.error,
            scanned_at=timezone.now(), scan_attempts=F("scan_attempts") + 1,
        )
        if recorded and verdict.status == ScanStatus.INFECTED:
            revision.refresh_from_db()
            event_record(EventType.REVISION_INFECTED, part=revision.part, revision=revision, signature=verdict.signature)
    if recorded and verdict.status != ScanStatus.CLEAN:
        logger.warning("revision %s scanned %s: %s", revision.pk, verdict.status, verdict.signature or verdict.error)
    return verdict if recorded else None


def _not_now(revision, reason):
    attempts = revision.scan_attempts + 1
    given_up = attempts >= MAX_ATTEMPTS
    Revision.objects.filter(pk=revision.pk, scan_status=ScanStatus.PENDING).update(
        scan_attempts=attempts, scan_queued_at=timezone.now(),
        scan_status=ScanStatus.ERROR if given_up else ScanStatus.PENDING,
        scan_error=f"{reason} (tried {attempts} time{'s' if attempts > 1 else ''})",
    )
    logger.warning("revision %s not scanned: %s", revision.pk, reason)


def revision_rescan(*, revision, actor):
    """Scan again (a lead's call): after an error, or to check a file against newer signatures."""
    permissions.check_may_manage_revisions(actor)
    if not scanner.is_enabled():
        raise Conflict("Malware scanning is off: CLAMAV_ADDRESS names no clamd.")
    with transaction.atomic():
        Revision.objects.filter(pk=revision.pk).update(
            scan_status=ScanStatus.PENDING, scan_attempts=0, scan_error="", scan_queued_at=timezone.now(),
        )
        scan_queue(revision.pk)
    revision.refresh_from_db()
    return revision


def scans_requeue():
    """Queue the scans whose message was lost or whose clamd was away, and, with scanning on, the
    revisions uploaded while it was off. Returns how many."""
    if not scanner.is_enabled():
        return 0
    now = timezone.now()
    stale = Q(scan_status=ScanStatus.PENDING) & (
        Q(scan_queued_at__isnull=True) | Q(scan_queued_at__lt=now - PENDING_REQUEUE)
    )
    ids = list(Revision.objects.filter(stale | Q(scan_status=ScanStatus.NOT_SCANNED)).order_by("pk").values_list(
        "pk", flat=True,
    )[:SWEEP_BATCH])
    Revision.objects.filter(pk__in=ids).update(scan_status=ScanStatus.PENDING, scan_queued_at=now)
    for revision_id in ids:
        scan_queue(revision_id)
    return len(ids)


def check_servable(revision):
    """Refuse (409, naming the state) to serve a revision's bytes unless they may be served."""
    status = revision.scan_status
    named = f"{revision.label} {revision.filename}"
    if status == ScanStatus.INFECTED:
        raise Conflict(f"{named} is infected ({revision.scan_signature}) and quarantined: it is never served.",
                       scan_status=status)
    if not scanner.is_enabled() or status == ScanStatus.CLEAN:
        return
    reasons = {
        ScanStatus.PENDING: "is waiting for its malware scan; try again in a moment.",
        ScanStatus.ERROR: f"could not be scanned for malware ({revision.scan_error}); a lead can scan it again.",
        ScanStatus.NOT_SCANNED: "was uploaded while scanning was off and has not been scanned yet.",
    }
    raise Conflict(f"{named} {reasons[status]}", scan_status=status)


def is_servable(revision):
    try:
        check_servable(revision)
    except Conflict:
        return False
    return True
