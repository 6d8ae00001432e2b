"""Re-hash every stored file against the database and report where they disagree.

Like Paperless-ngx's sanity checker: each revision's file must be in storage with the size
and SHA-256 on record, and so must the 3D model (GLB) converted from it. Anything else
under the prefixes Partsite owns is an orphan. Files are streamed, never read whole. What
failures leave behind is reported too (files.cleanup): orphans, the parts of uploads that no
open upload owns (S3 multipart uploads, local folders of parts) and temp files of killed
processes. `--remove-leftovers` removes those older than `--older-than-hours`, as the hourly
clean-up task does.

The site may stay up while this runs. A file deleted, or a model replaced, after the
check started is not reported missing, and the list of keys that something refers to is
read after storage has been listed, so a file uploaded meanwhile is not an orphan either.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from files import cleanup
from files.models import Revision
from files.storage import vault
from parts.models import Part

LEFTOVER_LINES = {"orphaned": "ORPHANED", "unfinished upload": "UNFINISHED", "stale temp": "STALE   "}


@dataclass(frozen=True)
class StoredObject:
    """An object the database says is in storage, what it must hash to, and whose it is."""

    key: str
    size: int
    sha256: str
    owner: str


def stored_objects(revisions):
    for revision in revisions:
        owner = f"{revision.part.part_number} {revision.label} ({revision.filename})"
        yield StoredObject(revision.storage_key, revision.size, revision.sha256, owner)
        if revision.glb_key:
            yield StoredObject(revision.glb_key, revision.glb_size, revision.glb_sha256, f"{owner} 3D model")
        if revision.glb_compact_key:
            yield StoredObject(
                revision.glb_compact_key, revision.glb_compact_size, revision.glb_compact_sha256, f"{owner} compact 3D model"
            )
        if revision.glb_coarse_key:
            yield StoredObject(
                revision.glb_coarse_key, revision.glb_coarse_size, revision.glb_coarse_sha256, f"{owner} coarse 3D model"
            )
        if revision.dxf_key:
            yield StoredObject(revision.dxf_key, revision.dxf_size, revision.dxf_sha256, f"{owner} DXF")


def is_still_referenced(key):
    return cleanup.is_referenced(key)


class Command(BaseCommand):
    help = "Re-hash every stored file against the database; report missing, corrupt and orphaned files."

    def add_arguments(self, parser):
        parser.add_argument(
            "--part", dest="part_number", metavar="PART_NUMBER",
            help="Check only this part's files (orphans belong to no part, so they are not looked for).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")
        parser.add_argument(
            "--remove-leftovers", action="store_true",
            help="Remove orphans, unowned upload parts and stale temp files older than --older-than-hours.",
        )
        parser.add_argument(
            "--older-than-hours", type=float, default=None, metavar="HOURS",
            help="With --remove-leftovers: how old a leftover must be (default STORAGE_LEFTOVER_GRACE_HOURS).",
        )

    def handle(self, part_number=None, no_progress=False, remove_leftovers=False, older_than_hours=None, **options):
        revisions = Revision.objects.select_related("part").order_by("part__part_number", "kind", "number")
        if part_number:
            if not Part.objects.filter(part_number=part_number).exists():
                raise CommandError(f"No part numbered {part_number!r}.")
            revisions = revisions.filter(part__part_number=part_number)
        expected = list(stored_objects(revisions.iterator()))

        self.problems = {"missing": 0, "corrupt": 0}
        self.vanished = 0
        progress = tqdm(
            expected, desc="Verifying", unit="file",
            # The raw stream: tqdm redraws with carriage returns, the wrapper would end each with a newline.
            file=self.stderr._out, disable=no_progress or not self.stderr.isatty(),
        )
        with progress:
            for stored in progress:
                self.verify(stored)
        if not part_number:
            self.problems.update({"orphaned": 0, "unfinished uploads": 0, "stale temp files": 0})
            hours = settings.STORAGE_LEFTOVER_GRACE_HOURS if older_than_hours is None else older_than_hours
            self.find_leftovers(timedelta(hours=hours) if remove_leftovers else None)

        checked = len(expected) - self.vanished
        if any(self.problems.values()):
            counts = ", ".join(f"{count} {problem}" for problem, count in self.problems.items())
            raise CommandError(f"{checked} objects checked: {counts}.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} objects verified."))

    def verify(self, stored):
        try:
            found = vault().digest(stored.key)
        except FileNotFoundError:
            if is_still_referenced(stored.key):
                self.report("missing", f"MISSING  {stored.key}: {stored.owner}")
            else:
                self.vanished += 1
            return
        if (found.size, found.sha256) != (stored.size, stored.sha256):
            self.report(
                "corrupt",
                f"CORRUPT  {stored.key}: {stored.owner}: expected {stored.size} bytes with SHA-256 {stored.sha256}, "
                f"found {found.size} bytes with SHA-256 {found.sha256}",
            )

    def find_leftovers(self, removing_past=None):
        removed = set()
        if removing_past is not None:
            for leftover in cleanup.leftovers_remove(removing_past):
                removed.add((leftover.kind, leftover.name))
                self.stdout.write(f"REMOVED  {leftover.kind} {leftover.describe()}")
        problems = {"orphaned": "orphaned", "unfinished upload": "unfinished uploads", "stale temp": "stale temp files"}
        for leftover in cleanup.leftovers():
            if (leftover.kind, leftover.name) in removed:
                continue
            if leftover.kind == "orphaned":
                line = f"ORPHANED {leftover.name}: no revision or upload refers to it"
            else:
                line = f"{LEFTOVER_LINES[leftover.kind]} {leftover.describe()}"
            self.report(problems[leftover.kind], line)

    def report(self, problem, line):
        self.problems[problem] += 1
        # Findings go to stdout; a progress bar drawn on the same terminal steps aside for them.
        with tqdm.external_write_mode():
            self.stdout.write(line, self.style.ERROR)
