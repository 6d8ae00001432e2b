"""A ZIP of the parts' approved STEP revisions (with a plate's DXF beside it) and latest drawings,
streamed straight from storage.

Nothing is assembled in memory or on disk: zipstream-ng writes each entry as its stored
file's chunks are read, one file after another, while the response is being sent. Files
are stored uncompressed (STEP and PDF are what they are), so the archive's size is known
before the first byte and the response has a Content-Length.

`MANIFEST.csv`, the first entry, lists per file the part, the revision and the size and
SHA-256 on record; each file is hashed again as it streams, and a file whose bytes differ
from the record stops the archive (the client gets a broken download, never a wrong file).
"""

import csv
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from zipstream import ZipStream

from files.models import Kind, Revision
from files.storage import StorageError, vault
from partsite.spreadsheets import FORMULA_STARTS, spreadsheet_cell

logger = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST.csv"
MANIFEST_COLUMNS = ("part_number", "part_name", "kind", "revision", "filename", "size", "sha256", "note")
NO_APPROVED_STEP = "no approved STEP revision"
DXF_KIND = "dxf"
MAX_NAME_CHARS = 120
# Characters no file system takes in a name (or that would make a path), and names Windows reserves.
UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


@dataclass(frozen=True)
class ArchiveEntry:
    """One line of the manifest: a file in the archive, or a part that has nothing of a kind to give."""

    part_number: str
    part_name: str
    kind: str
    revision: Revision | None = None
    arcname: str = ""
    note: str = ""
    dxf: bool = False  # the DXF drawn from the revision's plate, not the revision's own file

    @property
    def stored(self):
        """(key, size, sha256) of the stored object this entry holds."""
        revision = self.revision
        if self.dxf:
            return revision.dxf_key, revision.dxf_size, revision.dxf_sha256
        return revision.storage_key, revision.size, revision.sha256

    def manifest_row(self):
        revision = self.revision
        _, size, sha256 = self.stored if revision else ("", "", "")
        return [
            self.part_number, self.part_name, self.kind, revision.label if revision else "", self.arcname,
            size, sha256, self.note,
        ]


def archive_entries(parts):
    """What the archive of these parts holds, in their order: approved STEP revision, then latest drawing."""
    part_ids = parts.order_by().values("pk")
    parts = list(parts.select_related("approved_revision").prefetch_related(None))
    newest_first = Window(RowNumber(), partition_by=F("part_id"), order_by=F("number").desc())
    drawings = {
        drawing.part_id: drawing
        for drawing in Revision.objects.filter(part__in=part_ids, kind=Kind.DRAWING)
        .annotate(newness=newest_first).filter(newness=1)
    }
    entries, folders = [], set()
    for part in parts:
        folder = _unique(safe_name(part.part_number), folders, f" (id {part.pk})")
        for kind, revision in ((Kind.STEP, part.approved_revision), (Kind.DRAWING, drawings.get(part.pk))):
            if revision is None:
                if kind == Kind.STEP:
                    entries.append(ArchiveEntry(part.part_number, part.name, kind, note=NO_APPROVED_STEP))
                continue
            revision.part = part  # for the access record, without a query per file
            arcname = f"{folder}/{safe_name(f'{revision.label} {revision.filename}')}"
            entries.append(ArchiveEntry(part.part_number, part.name, kind, revision, arcname))
            if kind == Kind.STEP and revision.dxf_key:
                stem = revision.filename.rsplit(".", 1)[0]
                dxf_name = f"{folder}/{safe_name(f'{revision.label} {stem}')}.dxf"
                entries.append(ArchiveEntry(part.part_number, part.name, DXF_KIND, revision, dxf_name, dxf=True))
    return entries


def safe_name(text):
    """A file or folder name that unpacks the same on every system, cannot leave its folder and is no formula."""
    name = UNSAFE_CHARACTERS.sub("_", unicodedata.normalize("NFC", text)).strip(" .")[:MAX_NAME_CHARS].strip(" .")
    # A name that a spreadsheet would run as a formula (in MANIFEST.csv, or a listing pasted into one) starts with _.
    if not name or name.split(".")[0].upper() in WINDOWS_RESERVED or name.startswith(FORMULA_STARTS):
        name = f"_{name}"
    return name


def _unique(name, taken, suffix):
    """Case-insensitively unique among `taken` (macOS and Windows fold case); adds it there."""
    if name.casefold() in taken:
        name = f"{name}{suffix}"
    taken.add(name.casefold())
    return name


def archive_manifest(entries):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MANIFEST_COLUMNS)
    writer.writerows([spreadsheet_cell(cell) for cell in entry.manifest_row()] for entry in entries)
    return out.getvalue().encode("utf-8")


def archive_stream(entries):
    """The ZIP as an iterable of chunks with a known length; storage is read only while it is iterated."""
    stream = ZipStream(sized=True)
    stream.add(archive_manifest(entries), MANIFEST_NAME)
    for entry in entries:
        if entry.revision is not None:
            stream.add(_verified_chunks(*entry.stored, entry.arcname), entry.arcname, size=entry.stored[1])
    return stream


def _verified_chunks(key, recorded_size, recorded_sha256, arcname):
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in vault().chunks(key):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    except FileNotFoundError:
        logger.error("Archive stopped: %s (key %s) is missing from storage.", arcname, key)
        raise StorageError(f"{arcname} is missing from storage.") from None
    if (size, digest.hexdigest()) != (recorded_size, recorded_sha256):
        logger.error(
            "Archive stopped: %s (key %s) is %d bytes with SHA-256 %s in storage, not %d bytes with %s on record.",
            arcname, key, size, digest.hexdigest(), recorded_size, recorded_sha256,
        )
        raise StorageError(f"{arcname} in storage does not match its size and SHA-256 on record.")
