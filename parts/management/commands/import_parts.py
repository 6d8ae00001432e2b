"""Create parts from a CSV file, all or none; --dry-run only checks. Exits non-zero when a row is wrong.

The columns are those of GET /api/parts/export/ (see parts.exchange); only `name` is required.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from partsite.errors import NotPermitted
from parts.exchange import MAX_IMPORT_BYTES, parts_import

User = get_user_model()


class Command(BaseCommand):
    help = "Import parts from a CSV file (all or none). Problems are reported by line and field."

    def add_arguments(self, parser):
        parser.add_argument("file", help='the CSV file, or "-" for standard input')
        parser.add_argument("--user", required=True, help="the lead the parts are created by (on their timelines)")
        parser.add_argument("--dry-run", action="store_true", help="check every row and report, but write nothing")

    def handle(self, *args, file, user, dry_run, **options):
        try:
            actor = User.objects.get(username=user, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user named {user}.") from None
        data = self._read(file)
        try:
            report = parts_import(data=data, actor=actor, dry_run=dry_run)
        except NotPermitted as refused:
            raise CommandError(refused.message) from None
        if report.ignored_columns:
            self.stdout.write(f"Ignored (kept by Partsite, not imported): {', '.join(report.ignored_columns)}.")
        for problem in report.problems:
            self.stderr.write(str(problem))
        if not report.ok:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _read(self, file):
        """The file's bytes, reading one byte past the limit so the import can say it is too big."""
        if file == "-":
            return sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
        try:
            with open(file, "rb") as source:
                return source.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
