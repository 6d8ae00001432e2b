"""manage.py import_parts FILE --user LEAD [--dry-run]"""

import io

import pytest
from django.core.management import CommandError, call_command

from parts.models import Part

pytestmark = pytest.mark.django_db

GOOD = "part_number,name,amount,status\nP-40001,Bracket,2,completed\nP-40002,Gusset,1,pending\n"


@pytest.fixture
def csv_file(tmp_path):
    def write(text):
        path = tmp_path / "parts.csv"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_parts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_every_row_as_the_lead_given(lead, csv_file):
    out, err = run(csv_file(GOOD), "--user", "alice")

    assert "Imported 2 rows: P-40001, P-40002." in out
    assert "Ignored (kept by Partsite, not imported): status." in out
    assert err == ""
    assert list(Part.objects.order_by("part_number").values_list("part_number", "status", "created_by")) == [
        ("P-40001", "pending", lead.pk), ("P-40002", "pending", lead.pk),
    ]


def test_a_dry_run_reports_and_writes_nothing(lead, csv_file):
    out, _ = run(csv_file(GOOD), "--user", "alice", "--dry-run")

    assert "Dry run: 2 rows would be imported; nothing was written." in out
    assert not Part.objects.exists()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_bad_rows_are_reported_by_line_and_field_and_the_command_fails(lead, csv_file, dry_run):
    path = csv_file("name,amount\nBracket,2\n,3\nGusset,lots\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="2 problems found; nothing was imported."):
        call_command("import_parts", path, "--user", "alice", *dry_run, stdout=io.StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "line 3, field name: This field is required.",
        "line 4, field amount: A valid integer is required.",
    ]
    assert not Part.objects.exists()


def test_the_exit_code_is_non_zero_on_problems(lead, csv_file):
    from django.core.management import execute_from_command_line

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_parts", csv_file("amount\n2\n"), "--user", "alice"])

    assert exited.value.code == 1


@pytest.mark.parametrize(
    "user,message",
    [("nobody", "No active user named nobody."), ("bob", "Only a lead may import parts.")],
)
def test_the_user_must_be_an_active_lead(lead, fabricator, csv_file, user, message):
    with pytest.raises(CommandError, match=message):
        run(csv_file(GOOD), "--user", user)


def test_an_unreadable_file_is_named(lead, tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*missing.csv: No such file or directory."):
        run(str(tmp_path / "missing.csv"), "--user", "alice")
