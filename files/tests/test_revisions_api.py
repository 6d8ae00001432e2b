"""/api/revisions/: finding, reading and deleting revisions, and how approval and completion pin them."""

import hashlib
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import client_for
from files.models import Revision
from files.tests.helpers import approve_by_name, convert_now, fetch, post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes, step_header
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

# What reads or removes stored files runs on local disk and on S3; searching and permissions once.
on_both_backends = pytest.mark.usefixtures("storage_backend")


def upload(client, part, content, filename="bracket.step", **fields):
    response = post_file(client, part, content, filename, **fields)
    assert response.status_code == 201, response.json()
    return response.json()


def ap203_step(name="Legacy"):
    return (step_header(schema="CONFIG_CONTROL_DESIGN", name=name) + "DATA;\nENDSEC;\nEND-ISO-10303-21;\n").encode()


def listed(client, query=""):
    response = client.get(f"/api/revisions/?{query}")
    assert response.status_code == 200, response.json()
    return [revision["filename"] for revision in response.json()["results"]]


@pytest.fixture
def as_roleless(roleless):
    return client_for(roleless)


# Listing and searching


def test_the_list_holds_every_parts_revisions_newest_first_and_paginated(as_fabricator, as_viewer):
    first, second = make_part(), make_part()
    upload(as_fabricator, first, box_step(10, 10, 10), "a.step")
    upload(as_fabricator, second, box_step(20, 10, 10), "b.step")
    upload(as_fabricator, first, pdf_bytes(), "c.pdf")

    body = as_viewer.get("/api/revisions/?limit=2").json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [revision["filename"] for revision in body["results"]] == ["c.pdf", "b.step"]
    assert body["previous"] is None and "offset=2" in body["next"]


def test_search_finds_words_in_the_filename_description_and_product_names(as_fabricator, as_viewer):
    part = make_part()
    upload(as_fabricator, part, box_step(10, 10, 10, name="Gearbox"), "housing.step")
    upload(as_fabricator, part, box_step(20, 10, 10), "gear-plate.step")
    upload(as_fabricator, part, pdf_bytes(), "drawing.pdf", description="Dimensions for the GEAR shaft")
    upload(as_fabricator, part, box_step(30, 10, 10), "spacer.step")

    assert listed(as_viewer, "search=gearbox") == ["housing.step"]
    assert sorted(listed(as_viewer, "search=gear")) == ["drawing.pdf", "gear-plate.step", "housing.step"]
    assert listed(as_viewer, "search=gear shaft") == ["drawing.pdf"]
    assert listed(as_viewer, "search=flywheel") == []


def test_search_finds_product_names_beyond_ascii(as_fabricator, as_viewer):
    upload(as_fabricator, make_part(), box_step(name="Zahnradgehäuse"), "housing.step")

    assert listed(as_viewer, "search=gehäuse") == ["housing.step"]


def test_it_filters_by_part_and_by_uploader(as_lead, as_fabricator, as_viewer):
    part, other = make_part(), make_part()
    upload(as_lead, part, box_step(10, 10, 10), "by-alice.step")
    upload(as_fabricator, part, box_step(20, 10, 10), "by-bob.step")
    upload(as_fabricator, other, box_step(30, 10, 10), "elsewhere.step")

    assert listed(as_viewer, f"part={part.pk}") == ["by-bob.step", "by-alice.step"]
    assert listed(as_viewer, "uploaded_by=alice") == ["by-alice.step"]
    assert listed(as_viewer, f"part={part.pk}&uploaded_by=bob") == ["by-bob.step"]


def test_it_filters_by_upload_time(as_fabricator, as_viewer):
    part = make_part()
    now = timezone.now()
    for days_ago, filename in [(10, "old.step"), (3, "recent.step"), (0, "today.step")]:
        revision = upload(as_fabricator, part, box_step(10 + days_ago, 10, 10), filename)
        Revision.objects.filter(pk=revision["id"]).update(uploaded_at=now - timedelta(days=days_ago))

    week_ago = (now - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    yesterday = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    assert listed(as_viewer, f"uploaded_after={week_ago}") == ["today.step", "recent.step"]
    assert listed(as_viewer, f"uploaded_before={week_ago}") == ["old.step"]
    assert listed(as_viewer, f"uploaded_after={week_ago}&uploaded_before={yesterday}") == ["recent.step"]


@pytest.mark.parametrize("field", ["uploaded_after", "uploaded_before"])
def test_a_bad_time_is_400_naming_the_field(as_viewer, field):
    response = as_viewer.get(f"/api/revisions/?{field}=last-tuesday")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_it_filters_by_schema_kind_and_conversion_status(as_fabricator, as_viewer):
    part = make_part()
    converted = upload(as_fabricator, part, box_step(), "converted.step")
    convert_now(converted["id"])
    upload(as_fabricator, part, ap203_step(), "legacy.step")
    upload(as_fabricator, part, pdf_bytes(), "drawing.pdf")

    assert listed(as_viewer, "schema=AP214") == ["converted.step"]
    assert listed(as_viewer, "schema=ap203") == ["legacy.step"]
    assert listed(as_viewer, "kind=drawing") == ["drawing.pdf"]
    assert listed(as_viewer, "kind=step") == ["legacy.step", "converted.step"]
    assert listed(as_viewer, "conversion_status=ready") == ["converted.step"]
    assert listed(as_viewer, "conversion_status=pending&conversion_status=none") == ["drawing.pdf", "legacy.step"]


def test_an_unknown_kind_or_status_is_400_naming_the_field(as_viewer):
    assert list(as_viewer.get("/api/revisions/?kind=iges").json()) == ["kind"]
    assert list(as_viewer.get("/api/revisions/?conversion_status=done").json()) == ["conversion_status"]


def test_it_orders_by_size_filename_and_number(as_fabricator, as_viewer):
    part = make_part()
    upload(as_fabricator, part, pdf_bytes(3000), "b.pdf")
    upload(as_fabricator, part, pdf_bytes(1000), "c.pdf")
    upload(as_fabricator, part, pdf_bytes(2000), "a.pdf")

    assert listed(as_viewer, "ordering=size") == ["c.pdf", "a.pdf", "b.pdf"]
    assert listed(as_viewer, "ordering=-size") == ["b.pdf", "a.pdf", "c.pdf"]
    assert listed(as_viewer, "ordering=filename") == ["a.pdf", "b.pdf", "c.pdf"]
    assert listed(as_viewer, "ordering=number") == ["b.pdf", "c.pdf", "a.pdf"]


# Reading one


def test_a_revision_shows_what_it_is_and_how_its_conversion_went(as_fabricator, as_viewer):
    part = make_part()
    content = box_step(name="Gearbox")
    created = upload(as_fabricator, part, content, "gearbox.step", description="Housing")

    body = as_viewer.get(f"/api/revisions/{created['id']}/").json()

    assert body["id"] == created["id"]
    assert (body["part"], body["part_number"], body["number"], body["label"]) == (part.pk, part.part_number, 1, "R1")
    assert (body["kind"], body["filename"], body["description"]) == ("step", "gearbox.step", "Housing")
    assert (body["size"], body["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    assert (body["schema"], body["product_names"]) == ("AP214", ["Gearbox"])
    assert (body["conversion_status"], body["conversion_error"], body["model_url"]) == ("pending", "", None)


def test_an_unknown_revision_is_404(as_viewer):
    assert as_viewer.get("/api/revisions/999999/").status_code == 404


# Deleting


@on_both_backends
def test_a_lead_deletes_a_revision_its_file_goes_and_the_audit_trail_keeps_it(
    as_lead, as_fabricator, django_capture_on_commit_callbacks
):
    part = make_part()
    kept = upload(as_fabricator, part, box_step(10, 10, 10), "kept.step")
    doomed = upload(as_fabricator, part, box_step(20, 10, 10), "doomed.step")

    with django_capture_on_commit_callbacks(execute=True):
        response = as_lead.delete(f"/api/revisions/{doomed['id']}/")

    assert response.status_code == 204
    assert not Revision.objects.filter(pk=doomed["id"]).exists()
    assert stored_keys() == [Revision.objects.get(pk=kept["id"]).storage_key]
    [entry] = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Revision), object_pk=doomed["id"], action=LogEntry.Action.DELETE
    )
    assert "doomed.step" in entry.object_repr
    assert entry.changes_dict["filename"][0] == "doomed.step"


@on_both_backends
def test_deleting_a_converted_revision_removes_its_3d_model_too(
    as_lead, as_fabricator, django_capture_on_commit_callbacks
):
    revision = upload(as_fabricator, make_part(), box_step())
    convert_now(revision["id"])
    assert len(stored_keys()) == 4  # the STEP file, its model, its preview and the DXF of the plate it is

    with django_capture_on_commit_callbacks(execute=True):
        assert as_lead.delete(f"/api/revisions/{revision['id']}/").status_code == 204

    assert stored_keys() == []


@on_both_backends
@pytest.mark.parametrize(
    "pinned_by,message",
    [
        ("approval", "R1 is the approved revision of its part"),
        ("completion", "R1 is the revision its part was built from"),
    ],
)
def test_a_revision_an_approval_or_a_completion_refers_to_cannot_be_deleted(
    as_lead, as_fabricator, django_capture_on_commit_callbacks, pinned_by, message
):
    if pinned_by == "approval":
        part = make_part()
        revision = upload(as_fabricator, part, box_step())
        assert approve_by_name(as_lead, part).status_code == 200
    else:
        part = make_part(status=Status.IN_PROGRESS, assignee=as_fabricator.user)
        revision = upload(as_fabricator, part, box_step())
        assert as_fabricator.post(f"/api/parts/{part.pk}/complete/").status_code == 200
    keys = stored_keys()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_lead.delete(f"/api/revisions/{revision['id']}/")

    assert response.status_code == 409
    assert response.json()["detail"] == f"{message} and cannot be deleted."
    assert Revision.objects.filter(pk=revision["id"]).exists()
    assert stored_keys() == keys


# Approval and completion pin a revision


def test_approval_pins_the_latest_step_revision_and_a_newer_upload_does_not_move_it(as_lead, as_fabricator):
    part = make_part()
    upload(as_fabricator, part, box_step(10, 10, 10), "v1.step")
    reviewed = upload(as_fabricator, part, box_step(20, 10, 10), "v2.step")
    upload(as_fabricator, part, pdf_bytes(), "v2.pdf")

    approved = approve_by_name(as_lead, part).json()

    pinned = approved["approved_revision"]
    assert (pinned["id"], pinned["label"], pinned["sha256"]) == (reviewed["id"], "R2", reviewed["sha256"])
    assert approved["latest_revision"]["id"] == reviewed["id"]

    newer = upload(as_fabricator, part, box_step(30, 10, 10), "v3.step")
    body = as_fabricator.get(f"/api/parts/{part.pk}/").json()

    assert (body["approved_revision"]["id"], body["approved_revision"]["label"]) == (reviewed["id"], "R2")
    assert (body["latest_revision"]["id"], body["latest_revision"]["label"]) == (newer["id"], "R3")


def test_completion_records_the_approved_revision_as_built_even_after_a_newer_upload(as_lead, as_fabricator):
    part = make_part()
    approved = upload(as_fabricator, part, box_step(10, 10, 10), "v1.step")
    approve_by_name(as_lead, part)
    upload(as_fabricator, part, box_step(20, 10, 10), "v2.step")

    assert as_fabricator.post(f"/api/parts/{part.pk}/claim/").status_code == 200
    body = as_fabricator.post(f"/api/parts/{part.pk}/complete/", {"storage_location": "Shelf B"}).json()

    assert body["status"] == "completed"
    assert (body["built_revision"]["id"], body["built_revision"]["label"]) == (approved["id"], "R1")
    assert body["built_sha256"] == approved["sha256"]
    assert body["latest_revision"]["label"] == "R2"


# Downloading a part's model


@on_both_backends
def test_a_parts_download_is_its_approved_revision(as_lead, as_fabricator, as_viewer):
    part = make_part()
    approved = box_step(10, 10, 10)
    upload(as_fabricator, part, approved, "approved.step")
    approve_by_name(as_lead, part)
    upload(as_fabricator, part, box_step(20, 10, 10), "newer.step")

    status, headers, body = fetch(as_viewer, f"/api/parts/{part.pk}/download/")

    assert status == 200
    assert body == approved
    assert 'filename="approved.step"' in headers["Content-Disposition"]


@on_both_backends
def test_a_parts_download_without_an_approval_is_its_latest_step_revision(as_fabricator, as_viewer):
    part = make_part()
    upload(as_fabricator, part, box_step(10, 10, 10), "v1.step")
    latest = box_step(20, 10, 10)
    upload(as_fabricator, part, latest, "v2.step")
    upload(as_fabricator, part, pdf_bytes(), "drawing.pdf")

    status, _, body = fetch(as_viewer, f"/api/parts/{part.pk}/download/")

    assert (status, body) == (200, latest)


def test_a_part_without_a_step_revision_has_nothing_to_download(as_fabricator, as_viewer):
    part = make_part(part_number="P-00042")
    upload(as_fabricator, part, pdf_bytes(), "drawing.pdf")

    response = as_viewer.get(f"/api/parts/{part.pk}/download/")

    assert response.status_code == 409
    assert response.json()["detail"] == "P-00042 has no STEP revision yet."


# Deleting a part with its files


@on_both_backends
def test_deleting_a_part_removes_its_revisions_files(as_lead, as_fabricator, django_capture_on_commit_callbacks):
    part, other = make_part(), make_part()
    upload(as_fabricator, part, box_step(10, 10, 10))
    upload(as_fabricator, part, pdf_bytes(), "bracket.pdf")
    kept = upload(as_fabricator, other, box_step(20, 10, 10))

    with django_capture_on_commit_callbacks(execute=True):
        response = as_lead.delete(f"/api/parts/{part.pk}/")

    assert response.status_code == 204
    assert not Part.objects.filter(pk=part.pk).exists()
    assert list(Revision.objects.values_list("pk", flat=True)) == [kept["id"]]
    assert stored_keys() == [Revision.objects.get().storage_key]


@on_both_backends
def test_a_part_with_a_pinned_revision_cannot_be_deleted_and_should_be_retired(
    as_lead, as_fabricator, django_capture_on_commit_callbacks
):
    part = make_part(part_number="P-00007")
    upload(as_fabricator, part, box_step(10, 10, 10))
    approve_by_name(as_lead, part)
    upload(as_fabricator, part, box_step(20, 10, 10))
    keys = stored_keys()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_lead.delete(f"/api/parts/{part.pk}/")

    assert response.status_code == 409
    assert "retire it instead" in response.json()["detail"]
    assert part.revisions.count() == 2
    assert stored_keys() == keys


# Who may do what


CLIENTS = ["as_lead", "as_fabricator", "as_viewer", "as_roleless", "anonymous"]


@pytest.mark.parametrize("client_name,status", list(zip(CLIENTS, [200, 200, 200, 403, 401])))
def test_every_role_may_list_and_read_revisions(request, as_fabricator, client_name, status):
    revision = upload(as_fabricator, make_part(), box_step())
    client = request.getfixturevalue(client_name)

    assert client.get("/api/revisions/").status_code == status
    assert client.get(f"/api/revisions/{revision['id']}/").status_code == status


@pytest.mark.parametrize("client_name,status", list(zip(CLIENTS, [204, 403, 403, 403, 401])))
def test_only_a_lead_may_delete_a_revision(request, as_fabricator, client_name, status):
    revision = upload(as_fabricator, make_part(), box_step())
    client = request.getfixturevalue(client_name)

    assert client.delete(f"/api/revisions/{revision['id']}/").status_code == status
    assert Revision.objects.filter(pk=revision["id"]).exists() == (status != 204)


@pytest.mark.parametrize("client_name,status", list(zip(CLIENTS, [200, 403, 403, 403, 401])))
def test_only_a_lead_may_convert_a_revision_again(request, as_fabricator, client_name, status):
    revision = upload(as_fabricator, make_part(), box_step())
    convert_now(revision["id"])
    client = request.getfixturevalue(client_name)

    response = client.post(f"/api/revisions/{revision['id']}/reconvert/")

    assert response.status_code == status
    expected = "pending" if status == 200 else "ready"
    assert Revision.objects.get(pk=revision["id"]).conversion_status == expected


def test_a_reconverted_revision_waits_for_the_converter_again(as_lead, as_fabricator):
    revision = upload(as_fabricator, make_part(), box_step())
    convert_now(revision["id"])

    body = as_lead.post(f"/api/revisions/{revision['id']}/reconvert/").json()

    assert (body["conversion_status"], body["conversion_error"], body["conversion_attempts"]) == ("pending", "", 0)


def test_a_revision_waiting_for_conversion_cannot_be_converted_again(as_lead, as_fabricator):
    revision = upload(as_fabricator, make_part(), box_step())

    response = as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    assert response.status_code == 409
    assert response.json()["detail"] == "R1 is already waiting for or in conversion."


def test_a_drawing_is_never_converted(as_lead, as_fabricator):
    drawing = upload(as_fabricator, make_part(), pdf_bytes(), "drawing.pdf")

    response = as_lead.post(f"/api/revisions/{drawing['id']}/reconvert/")

    assert response.status_code == 409
    assert "Only STEP revisions" in response.json()["detail"]


# The part list stays cheap


def part_with_revisions(lead, fabricator):
    """A part approved and built from R1, with a drawing and a newer R2 since."""
    part = make_part()
    upload(fabricator, part, box_step(part.pk, 10, 10))
    upload(fabricator, part, pdf_bytes(1000 + part.pk), "bracket.pdf")
    for client, move in [(lead, "approve"), (fabricator, "claim"), (fabricator, "complete")]:
        moved = approve_by_name(client, part) if move == "approve" else client.post(f"/api/parts/{part.pk}/{move}/")
        assert moved.status_code == 200
    upload(fabricator, part, box_step(part.pk, 20, 10))
    return part


def test_the_part_list_does_not_query_per_part(as_lead, as_fabricator, as_viewer, django_assert_max_num_queries):
    part_with_revisions(as_lead, as_fabricator)
    with CaptureQueriesContext(connection) as queries:
        assert as_viewer.get("/api/parts/").json()["count"] == 1
    queries_for_one_part = len(queries)  # counted now: the next request clears the log
    for _ in range(5):
        part_with_revisions(as_lead, as_fabricator)

    with django_assert_max_num_queries(queries_for_one_part):
        body = as_viewer.get("/api/parts/").json()

    assert body["count"] == 6
    shown = {(p["approved_revision"]["label"], p["built_revision"]["label"], p["latest_revision"]["label"])
             for p in body["results"]}
    assert shown == {("R1", "R1", "R2")}
