"""GET /api/parts/archive/: a streamed ZIP of approved STEP revisions and latest drawings, with a manifest."""

import csv
import hashlib
import io
import itertools
import zipfile

import pytest
from django.core.files.storage import storages
from django.http import StreamingHttpResponse

from audit.models import FileAccess
from conftest import client_for
from files.models import Revision
from files.storage import StorageError, vault
from files.tests.helpers import approve_by_name, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.archive import MANIFEST_COLUMNS, NO_APPROVED_STEP, safe_name
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db
URL = "/api/parts/archive/"


def upload(client, part, content, filename):
    response = post_file(client, part, content, filename)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def parts(as_lead, as_fabricator):
    """Three parts: approved with newer files since, drawings only, and two whose numbers differ in case only."""
    approved = make_part(part_number="P-00001", name="Bracket", subsystem="Drivetrain")
    upload(as_fabricator, approved, box_step(10, 10, 10, padding=150_000), "bracket.step")
    upload(as_fabricator, approved, pdf_bytes(1001), "bracket.pdf")
    assert approve_by_name(as_lead, approved).status_code == 200
    upload(as_fabricator, approved, box_step(20, 10, 10), "bracket v2.step")
    upload(as_fabricator, approved, pdf_bytes(1002), "bracket rev B.pdf")

    drawn = make_part(part_number="P-00002", name="Gusset", subsystem="Drivetrain")
    upload(as_fabricator, drawn, box_step(30, 10, 10), "gusset.step")
    upload(as_fabricator, drawn, pdf_bytes(1003), "gusset.pdf")

    odd = make_part(part_number="A/b:1", name="Odd one", subsystem="Frame")
    upload(as_fabricator, odd, box_step(40, 10, 10), "con.step")
    other = make_part(part_number="a_B_1", name="Odd two", subsystem="Frame")
    upload(as_fabricator, other, box_step(50, 10, 10), "x.step")
    for part in (odd, other):
        assert approve_by_name(as_lead, part).status_code == 200
    return approved, drawn, odd, other


def get_archive(client, query=""):
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return response, zipfile.ZipFile(io.BytesIO(body))


def manifest_of(zipped):
    return list(csv.DictReader(io.StringIO(zipped.read("MANIFEST.csv").decode(), newline="")))


@pytest.mark.usefixtures("storage_backend")
def test_every_file_matches_the_manifest_and_the_stored_hashes(as_viewer, parts):
    response, zipped = get_archive(as_viewer, "?ordering=part_number")
    manifest = manifest_of(zipped)

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="parts-')
    assert zipped.testzip() is None
    assert tuple(manifest[0]) == MANIFEST_COLUMNS
    files = [row for row in manifest if row["filename"]]
    assert sorted(zipped.namelist()) == sorted(["MANIFEST.csv", *(row["filename"] for row in files)])
    for row in files:
        content = zipped.read(row["filename"])
        revision = Revision.objects.get(
            part__part_number=row["part_number"], kind=row["kind"], number=int(row["revision"][1:])
        )
        assert hashlib.sha256(content).hexdigest() == row["sha256"] == revision.sha256
        assert len(content) == int(row["size"]) == revision.size


def test_each_part_gives_its_approved_step_revision_and_latest_drawing(as_viewer, parts):
    _, zipped = get_archive(as_viewer, "?ordering=part_number")

    assert [(row["part_number"], row["part_name"], row["kind"], row["revision"], row["filename"], row["note"])
            for row in manifest_of(zipped)] == [
        ("A/b:1", "Odd one", "step", "R1", "A_b_1/R1 con.step", ""),
        ("P-00001", "Bracket", "step", "R1", "P-00001/R1 bracket.step", ""),
        ("P-00001", "Bracket", "drawing", "D2", "P-00001/D2 bracket rev B.pdf", ""),
        ("P-00002", "Gusset", "step", "", "", NO_APPROVED_STEP),
        ("P-00002", "Gusset", "drawing", "D1", "P-00002/D1 gusset.pdf", ""),
        ("a_B_1", "Odd two", "step", "R1", f"a_B_1 (id {parts[3].pk})/R1 x.step", ""),
    ]


def test_the_archive_takes_the_lists_filters(as_viewer, parts):
    query = "?subsystem=drivetrain&search=gusset"
    listed = {part["part_number"] for part in as_viewer.get(f"/api/parts/{query}").json()["results"]}

    _, zipped = get_archive(as_viewer, query)

    assert {row["part_number"] for row in manifest_of(zipped)} == listed == {"P-00002"}


def test_no_matching_parts_give_a_zip_with_only_the_manifest(as_viewer, parts):
    _, zipped = get_archive(as_viewer, "?search=nothing-is-called-this")

    assert zipped.namelist() == ["MANIFEST.csv"]
    assert zipped.read("MANIFEST.csv").decode() == ",".join(MANIFEST_COLUMNS) + "\r\n"


def test_a_bad_filter_is_400(as_viewer):
    response = as_viewer.get(f"{URL}?status=nonsense")

    assert response.status_code == 400
    assert "status" in response.json()


def test_an_archive_is_recorded_as_one_access_naming_each_file_in_it(as_viewer, viewer, parts):
    response, zipped = get_archive(as_viewer, "?ordering=part_number")

    access = FileAccess.objects.get()
    in_the_zip = {
        Revision.objects.get(part__part_number=row["part_number"], kind=row["kind"], number=int(row["revision"][1:]))
        for row in manifest_of(zipped) if row["filename"]
    }
    assert (access.access, access.user) == ("archive", viewer)
    assert set(access.revisions.all()) == in_the_zip and len(in_the_zip) == 5
    filename = response["Content-Disposition"].split('filename="')[1].rstrip('"')
    assert access.what == (
        f"{filename}, 5 files: A/b:1 R1 con.step, P-00001 R1 bracket.step, P-00001 D2 bracket rev B.pdf, "
        "P-00002 D1 gusset.pdf, a_B_1 R1 x.step"
    )


def test_the_name_of_a_huge_archive_is_cut_short_but_it_still_names_every_file(as_viewer, parts):
    Revision.objects.filter(filename="gusset.pdf").update(filename="g" * 250 + ".pdf")
    Revision.objects.filter(filename="con.step").update(filename="c" * 250 + ".step")

    get_archive(as_viewer)

    access = FileAccess.objects.get()
    assert len(access.what) == 400 and access.what.endswith("…")
    assert access.revisions.count() == 5


def test_each_part_in_an_archive_tells_of_it_in_its_history_with_its_own_files(as_viewer, parts):
    get_archive(as_viewer)
    approved, drawn, odd, _ = parts

    def archive_entries(part):
        history = as_viewer.get(f"/api/parts/{part.pk}/history/").json()
        return [(entry["action"], entry["actor"], entry["summary"]) for entry in history if entry["kind"] == "access"]

    assert archive_entries(approved) == [
        ("archive", "carol", "Downloaded in a ZIP archive: R1 bracket.step, D2 bracket rev B.pdf"),
    ]
    assert archive_entries(drawn) == [("archive", "carol", "Downloaded in a ZIP archive: D1 gusset.pdf")]
    assert archive_entries(odd) == [("archive", "carol", "Downloaded in a ZIP archive: R1 con.step")]


def test_the_audit_feed_shows_an_archive_once_and_finds_it_by_any_file_in_it(as_lead, as_viewer, parts):
    get_archive(as_viewer)
    gusset = Revision.objects.get(filename="gusset.pdf")
    not_in_it = Revision.objects.get(filename="gusset.step")

    everything = as_lead.get("/api/audit/", {"action": "archive"}).json()
    by_file = as_lead.get("/api/audit/", {"object_type": "revision", "object_id": gusset.pk}).json()
    by_other_file = as_lead.get("/api/audit/", {"object_type": "revision", "object_id": not_in_it.pk}).json()

    assert everything["count"] == 1
    assert (everything["results"][0]["actor"], everything["results"][0]["kind"]) == ("carol", "file")
    assert [entry["id"] for entry in by_file["results"] if entry["kind"] == "file"] == [everything["results"][0]["id"]]
    assert [entry for entry in by_other_file["results"] if entry["kind"] == "file"] == []


def test_an_archive_asked_for_in_a_range_is_sent_whole_and_still_recorded(as_viewer, parts):
    response = as_viewer.get(URL, HTTP_RANGE="bytes=100-")

    assert response.status_code == 200
    assert FileAccess.objects.count() == 1


def test_every_role_may_download_an_archive_but_not_without_one(
    as_lead, as_fabricator, as_viewer, roleless, anonymous, parts
):
    assert [client.get(URL).status_code for client in (as_lead, as_fabricator, as_viewer)] == [200, 200, 200]
    assert client_for(roleless).get(URL).status_code == 403
    assert anonymous.get(URL).status_code == 401


@pytest.mark.usefixtures("storage_backend")
def test_the_archive_is_sent_while_storage_is_read_one_file_at_a_time(as_viewer, parts, monkeypatch):
    events = []
    read_from_storage = vault().chunks

    def watched(key, *args, **kwargs):
        events.append(("open", key))
        yield from read_from_storage(key, *args, **kwargs)
        events.append(("done", key))

    monkeypatch.setattr(vault(), "chunks", watched)
    response = as_viewer.get(URL)
    assert isinstance(response, StreamingHttpResponse)
    assert events == []  # nothing is read before the response starts

    for _ in response.streaming_content:
        events.append(("sent", None))

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sent"  # the first bytes leave before any file is read
    opened = [index for index, kind in enumerate(kinds) if kind == "open"]
    assert len(opened) == 5
    for this_file, next_file in itertools.pairwise(opened):
        between = kinds[this_file + 1:next_file]
        assert between.count("done") == 1  # one file at a time
        assert "sent" in between[:between.index("done")]  # and its bytes leave while it is read


def test_a_stored_file_that_no_longer_matches_its_hash_stops_the_archive(as_viewer, parts):
    revision = Revision.objects.get(part=parts[0], kind="step", number=1)
    storages["default"].delete(revision.storage_key)
    vault().save(revision.storage_key, io.BytesIO(b"x" * revision.size))

    response = as_viewer.get(URL)

    with pytest.raises(StorageError, match="does not match its size and SHA-256 on record"):
        b"".join(response.streaming_content)


def test_a_missing_stored_file_stops_the_archive(as_viewer, parts):
    storages["default"].delete(Revision.objects.get(part=parts[0], kind="step", number=1).storage_key)

    response = as_viewer.get(URL)

    with pytest.raises(StorageError, match="P-00001/R1 bracket.step is missing from storage"):
        b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "name,safe",
    [("P-00001", "P-00001"), ("A/B\\C", "A_B_C"), ("..", "_"), ("../../etc/passwd", "_.._etc_passwd"),
     ('a<b>c:"d"|e?*', "a_b_c__d__e__"), ("CON", "_CON"), ("nul.step", "_nul.step"), ("Träger ", "Träger"),
     ("x" * 300, "x" * 120)],
)
def test_names_inside_the_archive_are_safe_everywhere(name, safe):
    assert safe_name(name) == safe


def test_names_a_spreadsheet_would_run_as_formulas_are_neutralised(as_viewer, as_lead, as_fabricator):
    part = make_part(part_number="=1+2", name='=HYPERLINK("http://evil.example","x")')
    upload(as_fabricator, part, box_step(60, 10, 10), "@SUM(A1).step")
    assert approve_by_name(as_lead, part).status_code == 200

    _, zipped = get_archive(as_viewer)
    [row] = manifest_of(zipped)

    assert (row["part_number"], row["part_name"]) == ("'=1+2", "'=HYPERLINK(\"http://evil.example\",\"x\")")
    assert row["filename"] == "_=1+2/R1 @SUM(A1).step"
    assert "_=1+2/R1 @SUM(A1).step" in zipped.namelist()
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


@pytest.mark.parametrize("name", ["=1+2", "+1", "-1", "@A1"])
def test_a_folder_name_never_starts_like_a_formula(name):
    assert safe_name(name) == f"_{name}"
