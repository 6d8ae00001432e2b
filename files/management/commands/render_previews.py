"""Draw the PNG previews of converted revisions: those converted before previews existed, or all again.

Runs here, one revision after another, each drawing in its own child process with the
worker's limits (PREVIEW_TIMEOUT_SECONDS, PREVIEW_MEMORY_MB). The site may stay up.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from files.conversion import revision_render_preview
from files.models import ConversionStatus, Kind, Revision
from parts.models import Part


class Command(BaseCommand):
    help = "Draw the PNG preview of every converted STEP revision (--missing: only those without one)."

    def add_arguments(self, parser):
        parser.add_argument("--missing", action="store_true", help="Only revisions that have no preview yet.")
        parser.add_argument("--part", dest="part_number", metavar="PART_NUMBER", help="Only this part's revisions.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar, even on a terminal.")

    def handle(self, missing=False, part_number=None, no_progress=False, **options):
        revisions = (
            Revision.objects.filter(kind=Kind.STEP, conversion_status=ConversionStatus.READY)
            .exclude(glb_key="").select_related("part").order_by("part__part_number", "number")
        )
        if part_number:
            if not Part.objects.filter(part_number=part_number).exists():
                raise CommandError(f"No part numbered {part_number!r}.")
            revisions = revisions.filter(part__part_number=part_number)
        if missing:
            revisions = revisions.filter(preview_key="")
        chosen = list(revisions)
        drawn = failed = 0
        progress = tqdm(chosen, desc="Drawing", unit="preview", file=self.stderr._out,
                        disable=no_progress or not self.stderr.isatty())
        with progress:
            for revision in progress:
                preview = revision_render_preview(revision.pk)
                if preview is None:  # deleted or converted again meanwhile: its conversion draws it
                    continue
                if preview.key:
                    drawn += 1
                    continue
                failed += 1
                with tqdm.external_write_mode():
                    self.stdout.write(
                        f"FAILED   {revision.part.part_number} {revision.label} ({revision.filename}): {preview.error}",
                        self.style.ERROR,
                    )
        summary = f"{drawn} previews drawn, {failed} failed."
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
