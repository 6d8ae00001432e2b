"""What failures leave behind, found and removed: orphan objects, unfinished uploads, stale temp folders.

A process killed mid-work, or storage down when something was to be deleted, can leave:
- an object under a prefix Partsite owns that no revision, model, preview or unfinished upload
  refers to (a GLB whose row could not be written, the object of an expired upload);
- an S3 multipart upload that no open upload owns (a simple upload cut off while storage was
  down, so its abort failed too), or on local disk a folder of parts no open upload owns;
- a conversion's or preview's temp folder (`convert-*`, `preview-*`) or a spooled upload in
  the data dir's tmp, when its process was killed.
`verify_storage` reports them all; `leftovers_remove` (the hourly `remove_storage_leftovers`
task, `verify_storage --remove-leftovers`) removes those older than a grace period, so nothing
still being written is touched, and logs each removal.
"""

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from files.models import Revision, Upload, UploadStatus
from files.storage import vault

logger = logging.getLogger(__name__)

CONVERSION_TEMP_PREFIX = "convert-"
PREVIEW_TEMP_PREFIX = "preview-"
# A temp folder older than this belongs to no conversion still running.
TEMP_STALE_AFTER = timedelta(minutes=10)
UNFINISHED_UPLOADS = (UploadStatus.OPEN, UploadStatus.COMPLETING)


@dataclass(frozen=True)
class Leftover:
    kind: str  # "orphaned", "unfinished upload", "stale temp"
    name: str
    since: object  # an aware datetime
    detail: str

    def describe(self):
        age = timezone.now() - self.since
        return f"{self.name}: {self.detail} (for {_duration(age)})"


def _duration(age):
    hours = age.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{age.total_seconds() / 60:.0f} min"


def _temp_stale_seconds():
    longest = max(settings.CONVERSION_TIMEOUT_SECONDS, settings.PREVIEW_TIMEOUT_SECONDS)
    return longest + TEMP_STALE_AFTER.total_seconds()


def stale_temp_paths():
    """Temp folders and spooled uploads in the data dir's tmp that no running process can still own."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    if not folder.is_dir():
        return []
    before = time.time() - _temp_stale_seconds()
    stale = []
    for path in folder.iterdir():
        is_ours = (
            path.is_dir() and path.name.startswith((CONVERSION_TEMP_PREFIX, PREVIEW_TEMP_PREFIX))
        ) or (path.is_file() and path.suffix == ".upload")
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if is_ours and modified < before:
            stale.append((path, modified))
    return stale


def temp_folders_remove_stale():
    """Remove what killed conversions, previews and uploads left in tmp; returns the paths removed."""
    removed = []
    for path, _ in stale_temp_paths():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.warning("removed %s, left by a process that was killed", path)
        removed.append(path)
    return removed


# Every column of a revision that names a stored object: the file, its models, preview and DXF.
REVISION_KEY_FIELDS = ("storage_key", "glb_key", "glb_compact_key", "glb_coarse_key", "preview_key", "dxf_key")


def referenced_keys():
    keys = set()
    for row in Revision.objects.values_list(*REVISION_KEY_FIELDS):
        keys.update(row)
    keys.update(Upload.objects.filter(status__in=UNFINISHED_UPLOADS).values_list("storage_key", flat=True))
    keys.discard("")
    return keys


def is_referenced(key):
    return (
        Revision.objects.filter(Q.create([(name, key) for name in REVISION_KEY_FIELDS], connector=Q.OR)).exists()
        or Upload.objects.filter(storage_key=key, status__in=UNFINISHED_UPLOADS).exists()
    )


def _owned_part_sets():
    """The ids (upload id, or S3 upload id) of the part sets that uploads still own."""
    owning = Upload.objects.filter(parts_discarded_at__isnull=True)
    return {str(pk) for pk in owning.values_list("pk", flat=True)} | set(
        owning.exclude(s3_upload_id="").values_list("s3_upload_id", flat=True)
    )


def leftovers():
    """Every leftover in storage and tmp, oldest first. Storage is listed before the database
    is read, so an object stored meanwhile is never taken for an orphan."""
    store = vault()
    objects = list(store.objects())
    part_sets = list(store.unfinished_part_sets())
    referenced, owned = referenced_keys(), _owned_part_sets()
    found = [
        Leftover("orphaned", key, modified, "no revision or upload refers to it")
        for key, modified in objects if key not in referenced
    ]
    found += [
        Leftover("unfinished upload", part_set.name, part_set.started, "parts of an upload that no open upload owns")
        for part_set in part_sets if part_set.id not in owned
    ]
    found += [
        Leftover("stale temp", str(path), datetime.fromtimestamp(modified, tz=UTC),
                 "left in tmp by a process that was killed")
        for path, modified in stale_temp_paths()
    ]
    return sorted(found, key=lambda leftover: leftover.since)


def leftovers_remove(grace=None):
    """Remove the leftovers older than `grace` (STORAGE_LEFTOVER_GRACE_HOURS by default); returns them."""
    grace = timedelta(hours=settings.STORAGE_LEFTOVER_GRACE_HOURS) if grace is None else grace
    before = timezone.now() - grace
    store = vault()
    part_sets = {part_set.name: part_set for part_set in store.unfinished_part_sets()}
    removed = []
    for leftover in leftovers():
        if leftover.since > before:
            continue
        if leftover.kind == "orphaned":
            if is_referenced(leftover.name):  # a row written since the listing
                continue
            store.delete(leftover.name)
        elif leftover.kind == "unfinished upload":
            store.discard_part_set(part_sets[leftover.name])
        else:
            path = Path(leftover.name)
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        logger.warning("removed %s %s", leftover.kind, leftover.describe())
        removed.append(leftover)
    return removed
