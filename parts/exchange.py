"""Parts in and out as CSV: one column format for the export and the import, so a file round-trips.

The import is all or nothing: every row is checked the way the API checks a new part, and
parts are created (in one transaction) only when no row has an error. A dry run checks
and reports without writing.
"""

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction

from partsite.errors import DomainError, NotPermitted
from partsite.spreadsheets import FORMULA_STARTS, spreadsheet_cell
from parts import permissions
from parts.serializers import PartSerializer
from parts.services import EDITABLE_FIELDS, part_create

# The columns an import reads; an export writes them first, then what Partsite keeps itself.
IMPORT_COLUMNS = EDITABLE_FIELDS
EXPORT_ONLY_COLUMNS = (
    "status", "category", "assignee", "approved_revision", "built_revision", "built_sha256", "latest_revision",
    "created_at", "updated_at",
)
EXPORT_COLUMNS = IMPORT_COLUMNS + EXPORT_ONLY_COLUMNS
REQUIRED_COLUMNS = ("name",)
DELIMITERS = (",", ";", "\t")
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
EXPORT_CHUNK_ROWS = 500

# A cell a spreadsheet would run as a formula gets an apostrophe in front on export
# (partsite.spreadsheets); the import takes it away again.


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file cannot be imported, where it is: `line` as numbered in the file (the header is 1)."""

    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self):
        where = [f"line {self.line}"] if self.line else []
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where) or 'file'}: {self.message}"

    def as_json(self):
        return {"line": self.line, "field": self.field, "message": self.message, "text": str(self)}


@dataclass
class ImportRow:
    line: int
    values: dict


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    created: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        if self.problems:
            count = len(self.problems)
            return f"{count} problem{'s' if count != 1 else ''} found; nothing was imported."
        rows = f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''}"
        if self.dry_run:
            return f"Dry run: {rows} would be imported; nothing was written."
        return f"Imported {rows}: {', '.join(part.part_number for part in self.created) or 'none'}."

    def as_json(self):
        return {
            "dry_run": self.dry_run,
            "detail": self.summary(),
            "rows": len(self.rows),
            "created": [part.part_number for part in self.created],
            "ignored_columns": self.ignored_columns,
            "errors": [problem.as_json() for problem in self.problems],
        }


class _Stop(Exception):
    """A problem that makes reading the rest of the file pointless."""

    def __init__(self, problem):
        super().__init__(str(problem))
        self.problem = problem


def parts_import(*, data, actor, dry_run=False):
    """Check every row of a CSV file (bytes) and, unless it is a dry run, create all its parts or none.

    Returns an ImportReport; `report.problems` says what is wrong, line by line.
    """
    if not permissions.can_import_parts(actor):
        raise NotPermitted("Only a lead may import parts.")
    report = ImportReport(dry_run=dry_run)
    try:
        _check(data, report)
    except _Stop as stop:
        report.problems.append(stop.problem)
    if report.problems or dry_run:
        return report
    try:
        with transaction.atomic():
            for row in report.rows:
                try:
                    report.created.append(part_create(actor=actor, **row.values))
                except DomainError as refused:  # taken since it was checked, by someone else
                    raise _Stop(ImportProblem(refused.message, row.line, refused.field)) from None
    except _Stop as stop:
        report.created = []
        report.problems.append(stop.problem)
    return report


def import_form_refused(refused):
    """The report of an import whose form was refused before any file was read: (field, message) pairs."""
    return ImportReport(dry_run=False, problems=[ImportProblem(str(message), field=name) for name, message in refused])


def _check(data, report):
    if len(data) > MAX_IMPORT_BYTES:
        raise _Stop(ImportProblem(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it."))
    text = _decode(data)
    if not text.strip():
        raise _Stop(ImportProblem("the file is empty; its first line must name the columns, e.g. part_number,name."))
    delimiter = _delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    next_line = 1  # where the record being read starts; reader.line_num is where it ends
    try:
        header = [_column_name(cell) for cell in next(reader)]
        columns = _check_header(header, report)
        first_line_of_part_number = {}
        next_line, rows_read = reader.line_num + 1, 0
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            rows_read += 1
            if rows_read > MAX_IMPORT_ROWS:
                raise _Stop(ImportProblem(f"more than {MAX_IMPORT_ROWS} rows; split the file.", line))
            values = _row_values(cells, header, columns, line, report)
            if values is None:
                continue
            number = values.get("part_number", "").strip()
            if number.lower() in first_line_of_part_number:
                report.problems.append(ImportProblem(
                    f"{number!r} is also on line {first_line_of_part_number[number.lower()]}; part numbers must be "
                    "unique, in any case.", line, "part_number",
                ))
            elif number:
                first_line_of_part_number[number.lower()] = line
            checked = PartSerializer(data=values)  # the API's own checks for a new part
            if checked.is_valid():
                report.rows.append(ImportRow(line, dict(checked.validated_data)))
            else:
                for name, messages in checked.errors.items():
                    for message in messages:
                        report.problems.append(
                            ImportProblem(str(message), line, None if name == "non_field_errors" else name)
                        )
    except csv.Error as error:
        raise _Stop(ImportProblem(f"the file is not readable CSV from here: {error}.", next_line)) from None


def _decode(data):
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # spreadsheets' "Unicode text"
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"  # a byte-order mark from Excel's "CSV UTF-8" is not part of the first column
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Stop(ImportProblem(
            f"the file is not {encoding.removesuffix('-sig').upper()} text (byte 0x{data[error.start]:02x}); "
            'save it as "CSV UTF-8".', line,
        )) from None


def _delimiter(header_line):
    """Spreadsheets in some languages separate with semicolons, and "Unicode text" with tabs."""
    return max(DELIMITERS, key=header_line.count)


def _column_name(cell):
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def _check_header(header, report):
    """The columns to read, by index; raises _Stop when the header cannot be used."""
    named = [name for name in header if name]
    duplicates = sorted({name for name in named if named.count(name) > 1})
    if duplicates:
        raise _Stop(ImportProblem(f"these columns appear more than once: {', '.join(duplicates)}.", 1))
    unknown = [name for name in named if name not in EXPORT_COLUMNS]
    if unknown:
        raise _Stop(ImportProblem(
            f"unknown columns: {', '.join(unknown)}. The columns are: {', '.join(IMPORT_COLUMNS)}.", 1,
        ))
    missing = [name for name in REQUIRED_COLUMNS if name not in named]
    if missing:
        raise _Stop(ImportProblem(
            f"the header has no {', '.join(missing)} column. The first line must name the columns, "
            f"e.g. {','.join(IMPORT_COLUMNS[:3])}.", 1,
        ))
    report.ignored_columns = [name for name in named if name in EXPORT_ONLY_COLUMNS]
    return {index: name for index, name in enumerate(header) if name in IMPORT_COLUMNS}


def _row_values(cells, header, columns, line, report):
    """The row's non-blank values by column, or None (with a problem reported) when the row is malformed."""
    if len(cells) != len(header):
        report.problems.append(ImportProblem(
            f"the row has {len(cells)} cells but the header has {len(header)} columns "
            "(a missing quote or a stray delimiter?).", line,
        ))
        return None
    stray = [index + 1 for index, cell in enumerate(cells) if not header[index] and cell.strip()]
    if stray:
        report.problems.append(
            ImportProblem(f"column {stray[0]} has a value but no name in the header.", line)
        )
        return None
    return {name: _unescape(cells[index]) for index, name in columns.items() if cells[index].strip()}


def _unescape(value):
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer's output."""

    def write(self, value):
        return value


def parts_csv_lines(parts):
    """The CSV file of these parts, line by line, reading the database in chunks (for a streaming response)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so that spreadsheets read the file as UTF-8
    yield writer.writerow(EXPORT_COLUMNS)
    for part in parts.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield writer.writerow(_export_row(part))


def _export_row(part):
    def label(revision):
        return revision.label if revision else ""

    row = [spreadsheet_cell(getattr(part, name)) for name in IMPORT_COLUMNS]
    row += [
        part.status, part.category, part.assignee.username if part.assignee else "",
        label(part.approved_revision), label(part.built_revision), part.built_sha256, label(part.latest_revision),
        part.created_at.isoformat(), part.updated_at.isoformat(),
    ]
    return row
