"""Importing parts from CSV (all or none, with a report by line and field) and exporting them."""

import csv
import io

import pytest

from parts.exchange import EXPORT_COLUMNS, IMPORT_COLUMNS, MAX_IMPORT_BYTES, parts_csv_lines, parts_import
from parts.lifecycle import Action
from parts.models import Part, PartEvent
from parts.selectors import part_queryset
from parts.tests.factories import make_part
from partsite.errors import NotPermitted

pytestmark = pytest.mark.django_db

GOOD = (
    "part_number,name,type,material,amount,notes\n"
    "P-10001,Bracket,cnc,6061 aluminium,4,\n"
    "P-10002,Gusset,hand,Steel,2,\"Two lines\nof notes\"\n"
    ",Spacer,misc,,,\n"
)


def problems(report):
    return [str(problem) for problem in report.problems]


def test_a_valid_file_creates_every_part_with_a_timeline(lead):
    report = parts_import(data=GOOD.encode(), actor=lead)

    assert report.ok, problems(report)
    assert report.summary().startswith("Imported 3 rows: P-10001, P-10002, P-")
    gusset = Part.objects.get(part_number="P-10002")
    assert (gusset.name, gusset.type, gusset.amount, gusset.notes) == ("Gusset", "hand", 2, "Two lines\nof notes")
    spacer = Part.objects.get(name="Spacer")
    assert spacer.part_number.startswith("P-") and spacer.amount == 1
    assert {(event.part.name, event.action, event.actor) for event in PartEvent.objects.all()} == {
        (name, Action.CREATE, lead) for name in ("Bracket", "Gusset", "Spacer")
    }


def test_a_dry_run_reports_each_bad_row_by_line_and_field_and_writes_nothing(lead):
    make_part(part_number="P-TAKEN")
    data = (
        "part_number,name,type,amount,onshape_url\n"  # line 1
        "P-1,Good,cnc,1,\n"                            # line 2
        "P-2,,cnc,1,\n"                                # line 3: no name
        "P-3,Plate,laser,0,\n"                         # line 4: bad type and amount
        "\n"                                           # line 5: blank, skipped
        "P-TAKEN,Taken,cnc,1,\n"                       # line 6: in the database already
        "P-1,Again,cnc,1,not a url\n"                  # line 7: twice in the file, bad URL
        '"P-8","Multi\nline",cnc,x,\n'                 # lines 8-9: not a number
        "P-10,Short\n"                                 # line 10: too few cells
    ).encode()

    report = parts_import(data=data, actor=lead, dry_run=True)

    assert problems(report) == [
        "line 3, field name: This field is required.",
        'line 4, field type: "laser" is not a valid choice.',
        "line 4, field amount: Ensure this value is greater than or equal to 1.",
        "line 6, field part_number: Part number 'P-TAKEN' is already taken.",
        "line 7, field part_number: 'P-1' is also on line 2; part numbers must be unique, in any case.",
        "line 7, field onshape_url: Enter a valid URL.",
        "line 8, field amount: A valid integer is required.",
        "line 10: the row has 2 cells but the header has 5 columns (a missing quote or a stray delimiter?).",
    ]
    assert report.summary() == "8 problems found; nothing was imported."
    assert list(Part.objects.values_list("part_number", flat=True)) == ["P-TAKEN"]


def test_one_bad_row_stops_the_whole_import(lead):
    data = GOOD + "P-10004,Bad,cnc,,0,\n"

    report = parts_import(data=data.encode(), actor=lead)

    assert problems(report) == ["line 6, field amount: Ensure this value is greater than or equal to 1."]
    assert not Part.objects.exists()


def test_a_clean_dry_run_says_what_would_be_imported(lead):
    report = parts_import(data=GOOD.encode(), actor=lead, dry_run=True)

    assert report.ok
    assert report.summary() == "Dry run: 3 rows would be imported; nothing was written."
    assert [(row.line, row.values["name"]) for row in report.rows] == [(2, "Bracket"), (3, "Gusset"), (5, "Spacer")]
    assert not Part.objects.exists()


def test_a_byte_order_mark_and_semicolons_from_a_spreadsheet_are_understood(lead):
    data = "\ufeffPart Number;Name;Amount\nP-20001;Träger;3\n".encode()

    report = parts_import(data=data, actor=lead)

    assert report.ok, problems(report)
    assert Part.objects.get().name == "Träger"


def test_a_spreadsheets_unicode_text_is_understood(lead):
    report = parts_import(data="name\tamount\r\nTräger\t2\r\n".encode("utf-16"), actor=lead)

    assert report.ok, problems(report)
    assert (Part.objects.get().name, Part.objects.get().amount) == ("Träger", 2)


def test_a_file_that_is_not_utf8_names_the_line(lead):
    data = "name,material\nBracket,Steel\nTräger,Stahl\n".encode("cp1252")

    report = parts_import(data=data, actor=lead, dry_run=True)

    assert problems(report) == ['line 3: the file is not UTF-8 text (byte 0xe4); save it as "CSV UTF-8".']


@pytest.mark.parametrize(
    "data,problem",
    [
        (b"", "file: the file is empty; its first line must name the columns, e.g. part_number,name."),
        (b"part_number,amount\nP-1,3\n",
         "line 1: the header has no name column. The first line must name the columns, e.g. part_number,name,type."),
        (b"Bracket,cnc,3\n",
         "line 1: unknown columns: bracket, cnc, 3. The columns are: " + ", ".join(IMPORT_COLUMNS) + "."),
        (b"name,colour,weight\nBracket,red,3\n",
         "line 1: unknown columns: colour, weight. The columns are: " + ", ".join(IMPORT_COLUMNS) + "."),
        (b"name,Name\nA,B\n", "line 1: these columns appear more than once: name."),
        (b'name,notes\nBracket,"never closed\n',
         "line 2: the file is not readable CSV from here: unexpected end of data."),
    ],
)
def test_a_file_it_cannot_read_says_why(lead, data, problem):
    report = parts_import(data=data, actor=lead, dry_run=True)

    assert problems(report) == [problem]


def test_a_value_under_a_nameless_column_is_a_problem_but_empty_trailing_columns_are_not(lead):
    report = parts_import(data=b"name,amount,,\nBracket,2,,\nGusset,3,,oops\n", actor=lead, dry_run=True)

    assert problems(report) == ["line 3: column 4 has a value but no name in the header."]


def test_a_file_over_the_limit_is_refused(lead):
    report = parts_import(data=b"name\n" + b"x\n" * (MAX_IMPORT_BYTES // 2), actor=lead, dry_run=True)

    assert problems(report) == ["file: the file is larger than 5 MB; split it."]


def test_a_file_with_too_many_rows_is_refused_at_the_first_row_too_many(lead, monkeypatch):
    monkeypatch.setattr("parts.exchange.MAX_IMPORT_ROWS", 2)

    report = parts_import(data=b"name\nA\n\nB\nC\n", actor=lead, dry_run=True)

    assert problems(report) == ["line 5: more than 2 rows; split the file."]


@pytest.mark.parametrize("role", ["fabricator", "viewer"])
def test_only_a_lead_may_import(request, role):
    with pytest.raises(NotPermitted, match="Only a lead may import parts."):
        parts_import(data=GOOD.encode(), actor=request.getfixturevalue(role), dry_run=True)


# Export


def exported(parts=None):
    text = "".join(parts_csv_lines(parts if parts is not None else part_queryset()))
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_the_export_has_the_import_columns_first_then_what_partsite_keeps(lead):
    part = make_part(part_number="P-00007", name="Bracket", amount=3, assignee=lead, status="in_progress")

    (row,) = exported()

    assert tuple(row) == EXPORT_COLUMNS
    assert row["part_number"] == "P-00007"
    assert (row["amount"], row["status"], row["category"], row["assignee"]) == ("3", "in_progress", "cnc", "alice")
    assert row["created_at"] == part.created_at.isoformat()


def test_an_export_imports_back_to_the_same_parts(lead):
    make_part(part_number="P-00001", name="Bracket, left", notes='Says "hi"\nover two lines', amount=2)
    make_part(part_number="P-00002", name="=SUM(A1:A9)", material="-", onshape_url=(
        "https://cad.onshape.com/documents/0123456789abcdef01234567/w/89abcdef0123456789abcdef/e/fedcba9876543210fedcba98"
    ))
    before = list(Part.objects.order_by("part_number").values(*IMPORT_COLUMNS))
    data = "".join(parts_csv_lines(part_queryset())).encode()
    Part.objects.all().delete()

    report = parts_import(data=data, actor=lead)

    assert report.ok, problems(report)
    assert report.ignored_columns == [
        "status", "category", "assignee", "approved_revision", "built_revision", "built_sha256", "latest_revision",
        "created_at", "updated_at",
    ]
    assert list(Part.objects.order_by("part_number").values(*IMPORT_COLUMNS)) == before


def test_text_a_spreadsheet_would_run_as_a_formula_is_exported_inert(lead):
    make_part(name="=HYPERLINK(\"http://evil\")", material="+1", subsystem="@sum")

    (row,) = exported()

    assert (row["name"], row["material"], row["subsystem"]) == ("'=HYPERLINK(\"http://evil\")", "'+1", "'@sum")
