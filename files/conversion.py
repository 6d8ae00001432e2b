"""Converting a STEP revision to GLB: claim it, convert in a child process, record the outcome.

A conversion is claimed by moving the revision to `running`, counting an attempt and
naming the worker process that claimed it, under a row lock. A worker that dies
mid-conversion leaves it `running`: the task comes back at once (acks_late and
reject_on_worker_lost), or the requeue task queues it, and a claim whose process is gone
may be taken again at once (one on another machine, once older than the converter's own
timeout). Infrastructure failing on the way (storage, the database, a full or read-only
disk, a converter killed by the kernel) is not the file's fault: the conversion is tried
again after a pause, and after CONVERSION_MAX_ATTEMPTS claims it fails for good, saying
why. Storage I/O happens outside transactions; a GLB whose conversion was superseded, or
whose row could not be written, is deleted.

Beside the conversion, in a child of its own under the same limits, the B-rep is measured
(files.geometry): the facts are recorded with the conversion's outcome, and a plate's DXF is
stored beside the GLB and replaced with it. A model that cannot be measured records why in
`geometry_error`; its conversion does not fail for it.

Once the conversion is recorded (the model is `ready` and viewable), it queues a task of
its own to draw the PNG preview from the GLB (files.preview), so the preview never delays
the 3D model. A preview that cannot be drawn is recorded in `preview_error` and the model
stays ready.
"""

import logging
import os
import re
import socket
import tempfile
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from files.cleanup import CONVERSION_TEMP_PREFIX, PREVIEW_TEMP_PREFIX, temp_folders_remove_stale
from files.compact import compact_glb
from files.converter import convert_step_to_glb
from files.geometry import measure_step
from files.models import ConversionStatus, Kind, Revision
from files.preview import render_preview
from files.queueing import conversion_queue, preview_queue
from files.storage import CHUNK_BYTES, new_dxf_key, new_glb_key, new_preview_key, vault
from partsite.events import EventType, event_record
from partsite.outages import unavailable

logger = logging.getLogger(__name__)

# How long past the converter's timeout a `running` conversion is presumed lost. A
# `pending` one's message is presumed lost after CONVERSION_PENDING_REQUEUE_MINUTES.
RUNNING_GRACE = timedelta(minutes=5)
# A conversion that storage, the database or the disk interrupted is tried again after this
# long, doubled at each attempt.
RETRY_PAUSE_SECONDS = 15
ATTEMPT_PREFIX = re.compile(r"^attempt \d+: ")
# Past the longest pause before a retry (the third attempt's), a retry not taken up was lost.
RETRY_OVERDUE = timedelta(minutes=2)


def _running_is_stale_before():
    return timezone.now() - timedelta(seconds=settings.CONVERSION_TIMEOUT_SECONDS) - RUNNING_GRACE


def _pending_is_stale_before():
    return timezone.now() - timedelta(minutes=settings.CONVERSION_PENDING_REQUEUE_MINUTES)


def revision_convert(revision_id):
    """Convert one revision if it is waiting (or its last worker was lost); otherwise do nothing."""
    temp_folders_remove_stale()
    revision = _claim(revision_id)
    if revision is None:
        return None
    try:
        with tempfile.TemporaryDirectory(prefix=CONVERSION_TEMP_PREFIX, dir=settings.FILE_UPLOAD_TEMP_DIR) as work:
            step_path, glb_path = Path(work) / "model.step", Path(work) / "model.glb"
            with open(step_path, "wb") as step_file:
                for chunk in vault().chunks(revision.storage_key):
                    step_file.write(chunk)
            result = convert_step_to_glb(
                str(step_path), str(glb_path),
                timeout_s=settings.CONVERSION_TIMEOUT_SECONDS, memory_mb=settings.CONVERSION_MEMORY_MB,
            )
            glb_key, glb_digest = "", None
            if result.ok:
                glb_key = new_glb_key()
                with open(glb_path, "rb") as glb_file:
                    glb_digest = vault().save_chunks(glb_key, iter(lambda: glb_file.read(CHUNK_BYTES), b""))
            compact = _compact(glb_path) if result.ok else Compact()
            # An interrupted conversion is tried again whole: nothing of it is measured or stored.
            measured = Measured() if result.transient else _measure(step_path, Path(work) / "facts.json")
    except Exception as error:
        # Storage or disk trouble, not the file's fault: try again after a pause.
        logger.exception("conversion of revision %s could not read or store its files", revision_id)
        _retry_later(revision, _cause(error))
        return None
    if result.transient:
        logger.warning("conversion of revision %s was interrupted: %s", revision_id, result.error)
        _retry_later(revision, result.error)
        return None
    return _finish(revision, result, glb_key, glb_digest, measured, compact)


@dataclass
class Measured:
    """The geometry facts of a conversion, and its plate's DXF as stored."""

    geometry: dict | None = None
    error: str = ""
    dxf_key: str = ""
    dxf_digest: object = None


@dataclass
class Compact:
    """The meshopt-compressed copy of a large GLB, as stored (files.compact); empty when there is none."""

    key: str = ""
    digest: object = None
    coarse_key: str = ""
    coarse_digest: object = None


def _compact(glb_path):
    if glb_path.stat().st_size <= settings.GLB_COMPACT_MIN_BYTES:
        return Compact()
    compact_path = glb_path.with_suffix(".meshopt.glb")
    compacted = compact_glb(glb_path, compact_path, timeout_s=settings.GLB_COMPACT_TIMEOUT_SECONDS)
    if not compacted.ok:
        logger.warning("no compact model for %s: %s", glb_path, compacted.error)
        return Compact()
    stored = Compact(*_store_compact(compact_path, ".meshopt.glb"))
    coarse_path = glb_path.with_suffix(".coarse.glb")
    coarse = compact_glb(glb_path, coarse_path, timeout_s=settings.GLB_COMPACT_TIMEOUT_SECONDS, coarse=True)
    if coarse.ok:
        stored.coarse_key, stored.coarse_digest = _store_compact(coarse_path, ".coarse.glb")
    else:
        logger.warning("no coarse model for %s: %s", glb_path, coarse.error)
    return stored


def _store_compact(path, suffix):
    key = new_glb_key().removesuffix(".glb") + suffix
    with open(path, "rb") as compact_file:
        return key, vault().save_chunks(key, iter(lambda: compact_file.read(CHUNK_BYTES), b""))


def _measure(step_path, facts_path):
    """Measure the B-rep in its child and store a plate's DXF; a failure is recorded, never raised."""
    geometry = measure_step(
        str(step_path), str(facts_path),
        timeout_s=settings.CONVERSION_TIMEOUT_SECONDS, memory_mb=settings.CONVERSION_MEMORY_MB,
    )
    if not geometry.ok:
        logger.warning("could not measure %s: %s", step_path, geometry.error)
        return Measured(error=geometry.error)
    measured = Measured(geometry=geometry.facts)
    if geometry.dxf_path:
        measured.dxf_key = new_dxf_key()
        with open(geometry.dxf_path, "rb") as dxf_file:
            measured.dxf_digest = vault().save_chunks(measured.dxf_key, iter(lambda: dxf_file.read(CHUNK_BYTES), b""))
    return measured


def _cause(error):
    outage = unavailable(error)
    return f"{outage[1]} ({type(error).__name__}: {error})" if outage else f"{type(error).__name__}: {error}"


def _quietly_delete(key):
    try:
        vault().delete(key)
    except Exception:  # storage is down too: verify_storage finds the orphan, the clean-up removes it
        logger.exception("could not delete %s", key)


def _retry_later(revision, cause):
    """Put the conversion back to `pending` with the cause, and queue it again after a pause."""
    if _release(revision, f"attempt {revision.conversion_attempts}: {cause}"):
        conversion_queue(revision.pk, countdown=RETRY_PAUSE_SECONDS * 2 ** (revision.conversion_attempts - 1))


def claimer():
    """Who is converting: this process and thread, on this machine."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claimer_is_gone(claimed_by):
    """Whether the process that claimed a conversion is certainly not converting it any more."""
    host, _, rest = (claimed_by or "").partition(":")
    pid, _, thread = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's, or from before claims were named: only time tells
    if int(pid) == os.getpid():
        return thread == str(threading.get_ident())  # this very thread is here, so not converting
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] in {"Z", "X"}  # dead, not yet reaped
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _is_lost(revision):
    return revision.conversion_status == ConversionStatus.RUNNING and (
        revision.conversion_started_at is None
        or revision.conversion_started_at < _running_is_stale_before()
        or _claimer_is_gone(revision.conversion_claimed_by)
    )


def _claim(revision_id):
    with transaction.atomic():
        revision = Revision.objects.select_for_update().filter(pk=revision_id, kind=Kind.STEP).first()
        if revision is None:
            return None
        lost = _is_lost(revision)
        if revision.conversion_status != ConversionStatus.PENDING and not lost:
            return None
        now = timezone.now()
        if lost:
            revision.conversion_error = (
                f"attempt {revision.conversion_attempts}: the worker converting it was lost (killed or restarted)"
            )
        if revision.conversion_attempts >= settings.CONVERSION_MAX_ATTEMPTS:
            last_cause = ATTEMPT_PREFIX.sub("", revision.conversion_error) or "the conversion never finished"
            revision.conversion_status = ConversionStatus.FAILED
            revision.conversion_error = f"Gave up after {revision.conversion_attempts} attempts: {last_cause}"
            revision.conversion_finished_at = now
            revision.save()
            event_record(EventType.REVISION_CONVERSION_FAILED, part=revision.part, revision=revision)
            return None
        revision.conversion_status = ConversionStatus.RUNNING
        revision.conversion_attempts += 1
        revision.conversion_started_at = now
        revision.conversion_finished_at = None
        revision.conversion_claimed_by = claimer()
        revision.save()
        return revision


def _release(revision, reason):
    return Revision.objects.filter(
        pk=revision.pk, conversion_status=ConversionStatus.RUNNING, conversion_attempts=revision.conversion_attempts
    ).update(
        conversion_status=ConversionStatus.PENDING, conversion_error=reason[:2000], conversion_queued_at=timezone.now(),
        conversion_claimed_by="",
    )


def _finish(revision, result, glb_key, glb_digest, measured=None, compact=None):
    measured, compact = measured or Measured(), compact or Compact()
    try:
        with transaction.atomic():
            current = Revision.objects.select_for_update().filter(pk=revision.pk).first()
            superseded = (
                current is None
                or current.conversion_status != ConversionStatus.RUNNING
                or current.conversion_attempts != revision.conversion_attempts
            )
            if not superseded:
                old_glb_key, old_preview_key, old_dxf_key = current.glb_key, current.preview_key, current.dxf_key
                old_compact_keys = (current.glb_compact_key, current.glb_coarse_key)
                current.conversion_status = ConversionStatus.READY if result.ok else ConversionStatus.FAILED
                current.conversion_error = "" if result.ok else result.error
                current.conversion_finished_at = timezone.now()
                current.conversion_claimed_by = ""
                current.conversion_seconds = result.seconds
                current.conversion_peak_memory_mb = result.peak_rss_mb
                current.glb_key = glb_key
                current.glb_size = glb_digest.size if glb_digest else None
                current.glb_sha256 = glb_digest.sha256 if glb_digest else ""
                current.triangles = result.triangles if result.ok else None
                current.bbox_mm = list(result.bbox_mm) if result.ok and result.bbox_mm else None
                current.preview_key, current.preview_error = "", ""
                current.geometry, current.geometry_error = measured.geometry, measured.error
                current.dxf_key = measured.dxf_key
                current.dxf_size = measured.dxf_digest.size if measured.dxf_digest else None
                current.dxf_sha256 = measured.dxf_digest.sha256 if measured.dxf_digest else ""
                current.glb_compact_key = compact.key
                current.glb_compact_size = compact.digest.size if compact.digest else None
                current.glb_compact_sha256 = compact.digest.sha256 if compact.digest else ""
                current.glb_coarse_key = compact.coarse_key
                current.glb_coarse_size = compact.coarse_digest.size if compact.coarse_digest else None
                current.glb_coarse_sha256 = compact.coarse_digest.sha256 if compact.coarse_digest else ""
                current.save()
                event_record(
                    EventType.REVISION_CONVERTED if result.ok else EventType.REVISION_CONVERSION_FAILED,
                    part=current.part, revision=current,
                )
                if result.ok:
                    transaction.on_commit(lambda: preview_queue(current.pk), robust=True)
    except Exception:
        # The row could not be written (the database is down): the files it would point at go,
        # and the task tries again (files.tasks retries database errors). Not on a signal to
        # stop: it may come after the commit, and an orphan left then is found by the clean-up.
        for key in (glb_key, measured.dxf_key, compact.key, compact.coarse_key):
            _quietly_delete(key)
        raise
    if superseded:
        vault().delete(glb_key)
        vault().delete(measured.dxf_key)
        vault().delete(compact.key)
        vault().delete(compact.coarse_key)
        return None
    if old_dxf_key and old_dxf_key != measured.dxf_key:
        vault().delete(old_dxf_key)
    for old_key in old_compact_keys:
        if old_key and old_key not in (compact.key, compact.coarse_key):
            vault().delete(old_key)
    if old_glb_key and old_glb_key != glb_key:
        vault().delete(old_glb_key)
    if old_preview_key:
        vault().delete(old_preview_key)
    return current


@dataclass
class Preview:
    """A stored preview's key, or why there is none."""

    key: str = ""
    error: str = ""


def _preview_store(revision_id, glb_path):
    """Draw the preview of a GLB and store it. Never raises: a preview is not worth a conversion."""
    png_path = Path(glb_path).with_suffix(".png")
    try:
        drawn = render_preview(
            str(glb_path), str(png_path),
            timeout_s=settings.PREVIEW_TIMEOUT_SECONDS, memory_mb=settings.PREVIEW_MEMORY_MB,
        )
        if not drawn.ok:
            logger.warning("no preview for revision %s: %s", revision_id, drawn.error)
            return Preview(error=drawn.error)
        key = new_preview_key()
        with open(png_path, "rb") as png:
            vault().save(key, png)
        logger.info("preview of revision %s drawn in %.2f s, peak %s MB", revision_id, drawn.seconds, drawn.peak_rss_mb)
        return Preview(key=key)
    except Exception as error:
        logger.exception("the preview of revision %s could not be drawn or stored", revision_id)
        return Preview(error=f"{type(error).__name__}: {error}"[:2000])


def revision_render_preview(revision_id, *, missing_only=False):
    """Draw the preview of a converted revision again (or for the first time); returns the Preview.

    None when the revision is gone or not converted, or with missing_only (the task queued
    after a conversion) when its model already has a preview or a recorded failure, so a
    task delivered twice draws once. The image is recorded only if the model it was drawn
    from is still the revision's; otherwise it is deleted again. A drawing that fails keeps
    the preview the revision had, if any, and records the reason only if it had none.
    """
    revision = Revision.objects.filter(
        pk=revision_id, kind=Kind.STEP, conversion_status=ConversionStatus.READY
    ).exclude(glb_key="").first()
    if revision is None or (missing_only and (revision.preview_key or revision.preview_error)):
        return None
    with tempfile.TemporaryDirectory(prefix=PREVIEW_TEMP_PREFIX, dir=settings.FILE_UPLOAD_TEMP_DIR) as work:
        glb_path = Path(work) / "model.glb"
        try:
            with open(glb_path, "wb") as glb_file:
                glb_file.writelines(vault().chunks(revision.glb_key))
        except FileNotFoundError:
            preview = Preview(error="the 3D model is missing from storage")
        else:
            preview = _preview_store(revision_id, glb_path)
    old_preview_key = ""
    with transaction.atomic():
        current = Revision.objects.select_for_update().filter(pk=revision_id, glb_key=revision.glb_key).first()
        if current is not None and missing_only and current.preview_key:  # another task drew it meanwhile
            current = None
        if current is not None and (preview.key or not current.preview_key):
            old_preview_key = current.preview_key
            current.preview_key, current.preview_error = preview.key, preview.error
            current.save(update_fields=["preview_key", "preview_error"])
    if current is None:
        vault().delete(preview.key)
        return None
    vault().delete(old_preview_key)
    return preview


def conversions_requeue_stalled():
    """Queue again the conversions whose message or worker was lost. Returns how many."""
    # A conversion put back to wait for its retry (_retry_later) is due within a minute; its
    # message may have died with the worker that held it.
    retry_overdue = timezone.now() - RETRY_OVERDUE
    stale = Revision.objects.filter(
        Q(conversion_status=ConversionStatus.PENDING, conversion_queued_at__lt=_pending_is_stale_before())
        | Q(conversion_status=ConversionStatus.PENDING, conversion_attempts__gt=0, conversion_error__startswith="attempt ",
            conversion_queued_at__lt=retry_overdue)
        | Q(conversion_status=ConversionStatus.RUNNING, conversion_started_at__lt=_running_is_stale_before())
    )
    ids = list(stale.values_list("pk", flat=True))
    running = Revision.objects.filter(conversion_status=ConversionStatus.RUNNING).exclude(pk__in=ids)
    ids += [revision.pk for revision in running.only("pk", "conversion_claimed_by") if _claimer_is_gone(revision.conversion_claimed_by)]
    Revision.objects.filter(pk__in=ids, conversion_status=ConversionStatus.PENDING).update(
        conversion_queued_at=timezone.now()
    )
    for revision_id in ids:
        conversion_queue(revision_id)
    return len(ids)


def previews_requeue_missing():
    """Queue again the previews whose message was lost: a model ready for a while with no
    preview and no recorded failure. Returns how many. The task draws each once at most."""
    ids = list(
        Revision.objects.filter(
            kind=Kind.STEP, conversion_status=ConversionStatus.READY, preview_key="", preview_error="",
            conversion_finished_at__lt=_pending_is_stale_before(),
        ).exclude(glb_key="").values_list("pk", flat=True)
    )
    for revision_id in ids:
        preview_queue(revision_id)
    return len(ids)
