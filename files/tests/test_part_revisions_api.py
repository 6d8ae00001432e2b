"""POST /api/parts/{id}/revisions/: the simple upload, and what it refuses."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from files.tests.helpers import fetch, post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes, step_header
from parts.lifecycle import Status
from parts.models import PartEvent
from parts.tests.factories import make_part

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def test_a_step_upload_becomes_revision_1_with_what_its_header_says(as_fabricator):
    part = make_part()
    content = box_step(name="Bracket")

    response = post_file(as_fabricator, part, content, "Bracket v1.STEP", description="First cut")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["part"], body["number"], body["label"], body["kind"]) == (part.pk, 1, "R1", "step")
    assert (body["filename"], body["description"], body["size"]) == ("Bracket v1.STEP", "First cut", len(content))
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert (body["schema"], body["file_schema"]) == ("AP214", "AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }")
    assert (body["originating_system"], body["author"], body["organization"]) == (
        "Partsite test generator", "Test Author", "Partsite",
    )
    assert body["product_names"] == ["Bracket"]
    assert body["uploaded_by"] == "bob"
    assert body["conversion_status"] == "pending"
    assert body["same_file_on_other_parts"] == []


def test_the_stored_file_comes_back_byte_for_byte(as_fabricator, as_viewer):
    part = make_part()
    content = box_step()
    revision = post_file(as_fabricator, part, content).json()

    status, headers, body = fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")

    assert status == 200
    assert hashlib.sha256(body).hexdigest() == revision["sha256"]
    assert 'filename="bracket.step"' in headers["Content-Disposition"]
    assert headers["Content-Disposition"].startswith("attachment")


def test_storage_keys_never_come_from_the_filename(as_fabricator):
    post_file(as_fabricator, make_part(), box_step(), "../../etc/passwd.step")

    [key] = stored_keys()
    assert key.startswith("revisions/") and "passwd" not in key


def test_revisions_are_numbered_per_part_and_kind(as_fabricator):
    part, other = make_part(), make_part()

    labels = [
        post_file(as_fabricator, part, box_step(10, 10, 10), "a.step").json()["label"],
        post_file(as_fabricator, part, pdf_bytes(), "a.pdf").json()["label"],
        post_file(as_fabricator, part, box_step(20, 10, 10), "b.stp").json()["label"],
        post_file(as_fabricator, other, box_step(30, 10, 10), "c.step").json()["label"],
    ]

    assert labels == ["R1", "D1", "R2", "R1"]


def test_an_upload_is_on_the_timeline(as_fabricator):
    part = make_part()

    post_file(as_fabricator, part, box_step(), "bracket.step")

    event = PartEvent.objects.get(part=part)
    assert (event.action, event.note, event.actor.username) == ("upload", "R1 bracket.step", "bob")


def test_the_same_bytes_again_on_this_part_are_refused_naming_the_revision(as_fabricator):
    part = make_part()
    first = post_file(as_fabricator, part, box_step(), "bracket.step").json()

    response = post_file(as_fabricator, part, box_step(), "bracket-copy.step")

    assert response.status_code == 409
    assert response.json()["revision"] == first["id"]
    assert "already revision R1" in response.json()["detail"]
    assert len(stored_keys()) == 1


def test_the_same_bytes_on_another_part_are_accepted_and_named(as_fabricator):
    part, other = make_part(), make_part()
    first = post_file(as_fabricator, part, box_step()).json()

    response = post_file(as_fabricator, other, box_step())

    assert response.status_code == 201
    assert response.json()["same_file_on_other_parts"] == [
        {"part": part.pk, "part_number": part.part_number, "revision": first["id"], "label": "R1"}
    ]


@pytest.mark.parametrize(
    "filename,fields,message",
    [
        ("bracket.igs", {}, "the allowed extensions are .step, .stp, .pdf and .dxf"),
        ("bracket", {}, "the allowed extensions are .step, .stp, .pdf and .dxf"),
        ("bracket.step", {"kind": "drawing"}, "A drawing must be a .pdf or .dxf file"),
        ("bracket.pdf", {"kind": "step"}, "A STEP model must be a .step or .stp file"),
    ],
)
def test_an_extension_that_does_not_fit_is_refused(as_fabricator, filename, fields, message):
    response = post_file(as_fabricator, make_part(), box_step(), filename, **fields)

    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert stored_keys() == []


@pytest.mark.parametrize(
    "content,filename,message",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "bracket.step", "not a STEP file: it is a PNG image"),
        (b"solid cube\n  facet normal 0 0 1\n", "bracket.step", "does not start with ISO-10303-21;"),
        (step_header(schema="IFC4").encode() + b"DATA;\nENDSEC;\n", "house.step", "IFC (BIM) file"),
        (b"ISO-10303-21;\nDATA;\n#1=X();\n", "bracket.stp", "no HEADER section"),
        (box_step(), "drawing.pdf", "not a PDF file"),
    ],
)
def test_content_that_is_not_what_it_claims_is_refused(as_fabricator, content, filename, message):
    response = post_file(as_fabricator, make_part(), content, filename)

    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert stored_keys() == []


def test_a_step_file_after_a_byte_order_mark_and_blank_lines_is_accepted(as_fabricator):
    response = post_file(as_fabricator, make_part(), b"\xef\xbb\xbf\r\n  " + box_step())

    assert response.status_code == 201


def test_an_empty_file_is_refused(as_fabricator):
    response = post_file(as_fabricator, make_part(), b"", "bracket.step")

    assert response.status_code == 400
    assert response.json()["file"] == ["The file is empty (0 bytes)."]


def test_a_file_over_the_limit_is_413_and_leaves_nothing_behind(as_fabricator, settings):
    settings.MAX_UPLOAD_MB = 1
    part = make_part()

    response = post_file(as_fabricator, part, box_step(padding=3 * 2**20))

    assert response.status_code == 413
    assert "larger than the 1 MB limit" in response.json()["detail"]
    assert stored_keys() == []
    assert list(settings.FILE_UPLOAD_TEMP_DIR.iterdir()) == []
    assert not part.revisions.exists()


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(as_fabricator, settings):
    settings.MAX_UPLOAD_MB = 1
    part = make_part()
    boundary = "b0undary"
    body = f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.step\"\r\n\r\n".encode()

    response = as_fabricator.generic(
        "POST", f"/api/parts/{part.pk}/revisions/", body,
        content_type=f"multipart/form-data; boundary={boundary}", CONTENT_LENGTH=str(600 * 2**20),
    )

    assert response.status_code == 413
    assert "the request is 600 MB" in response.json()["detail"]


def test_a_retired_part_takes_no_files(as_lead):
    part = make_part(status=Status.RETIRED)

    response = post_file(as_lead, part, box_step())

    assert response.status_code == 409
    assert "retired" in response.json()["detail"]


def test_an_upload_whose_row_cannot_be_written_leaves_no_object(as_fabricator, monkeypatch):
    def refuse(**fields):
        raise IntegrityError("simulated failure after the file was stored")

    monkeypatch.setattr(PartEvent.objects, "create", refuse)

    with pytest.raises(IntegrityError):
        post_file(as_fabricator, make_part(), box_step())

    assert stored_keys() == []


def test_a_viewer_may_not_upload(as_viewer):
    response = post_file(as_viewer, make_part(), box_step())

    assert response.status_code == 403
    assert stored_keys() == []


def test_a_user_without_a_role_may_not_upload_or_list(roleless):
    from conftest import client_for

    client = client_for(roleless)
    part = make_part()

    assert post_file(client, part, box_step()).status_code == 403
    assert client.get(f"/api/parts/{part.pk}/revisions/").status_code == 403


def test_anonymous_uploads_are_401(anonymous):
    assert post_file(anonymous, make_part(), box_step()).status_code == 401


def test_an_unknown_part_is_404(as_fabricator):
    response = as_fabricator.post(
        "/api/parts/999999/revisions/", {"file": SimpleUploadedFile("a.step", box_step())}, format="multipart"
    )

    assert response.status_code == 404
    assert stored_keys() == []


def test_every_role_lists_a_parts_revisions_newest_first(as_fabricator, as_viewer):
    part = make_part()
    for size in (10, 20, 30):
        post_file(as_fabricator, part, box_step(size, 10, 10), f"v{size}.step")

    body = as_viewer.get(f"/api/parts/{part.pk}/revisions/").json()

    assert body["count"] == 3
    assert [revision["label"] for revision in body["results"]] == ["R3", "R2", "R1"]


@pytest.mark.parametrize("sent, stored", [
    ("brack\u202eet.step", "bracket.step"), ("line\u2028break.step", "linebreak.step"), ("..\\..\\d.step", "d.step"),
])
def test_a_file_name_is_stored_clean(as_fabricator, sent, stored):
    response = post_file(as_fabricator, make_part(), box_step(), sent)

    assert response.status_code == 201, response.json()
    assert response.json()["filename"] == stored


@pytest.mark.parametrize("cut", [2, 20, 5000])
def test_a_step_file_cut_short_is_refused_as_truncated_and_leaves_nothing(as_fabricator, cut):
    response = post_file(as_fabricator, make_part(), box_step(padding=10_000)[:-cut])

    assert response.status_code == 400
    assert "truncated" in response.json()["file"][0]
    assert stored_keys() == []


def test_a_step_file_may_end_in_blank_lines_and_comments(as_fabricator):
    content = box_step() + b"\r\n/* written by a test */\n\n/* twice */  \n"

    response = post_file(as_fabricator, make_part(), content)

    assert response.status_code == 201, response.json()
