"""Creating and editing a part on the pages: who may, the inline errors, and the first files."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from files.models import Kind, Revision
from files.tests.samples import box_step, pdf_bytes
from parts import services
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.factories import make_part


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


FIELDS = {"part_number": "", "name": "Bumper bracket", "type": "cnc", "material": "Aluminium 6061",
          "material_thickness": "6 mm", "subsystem": "Drivetrain", "amount": "4", "notes": "",
          "onshape_url": "", "storage_location": ""}


@pytest.mark.parametrize("role", ["lead", "fabricator"])
def test_leads_and_fabricators_create_a_part_on_the_page(request, role):
    client = logged_in(request.getfixturevalue(role))
    assert b"New part" in client.get("/").content
    assert client.get("/parts/new/").status_code == 200
    response = client.post("/parts/new/", FIELDS)
    part = Part.objects.get(name="Bumper bracket")
    assert response.status_code == 302 and response["Location"] == f"/parts/{part.pk}/"
    assert part.part_number.startswith("P-") and part.amount == 4 and part.status == Status.PENDING
    assert part.created_by == request.getfixturevalue(role)
    page = client.get(response["Location"])
    assert b"Bumper bracket created" in page.content


def test_a_viewer_sees_no_new_part_button_and_may_not_create_one(viewer):
    client = logged_in(viewer)
    assert b"New part" not in client.get("/").content
    assert client.get("/parts/new/").status_code == 403
    assert client.post("/parts/new/", FIELDS).status_code == 403
    assert not Part.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in_before_creating_or_editing(db, client):
    part = make_part()
    assert client.get("/parts/new/")["Location"] == "/login/?next=/parts/new/"
    assert client.post(f"/parts/{part.pk}/edit/", FIELDS)["Location"] == f"/login/?next=/parts/{part.pk}/edit/"


def test_mistakes_are_shown_beside_their_fields_and_nothing_is_created(fabricator):
    make_part(part_number="P-00007")
    response = logged_in(fabricator).post(
        "/parts/new/", {**FIELDS, "name": "", "amount": "0", "part_number": "P-00007",
                        "onshape_url": "https://example.com/not-onshape"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("name", "amount", "part_number", "onshape_url"):
        block = html.split(f'data-field="{field}"')[1].split('data-field=')[0]
        assert 'class="errorlist' in block, field
    assert "This field is required." in html and "already exists" in html
    assert Part.objects.count() == 1


def test_a_new_part_starts_with_its_step_model_and_pdf_drawing(fabricator):
    response = logged_in(fabricator).post("/parts/new/", {
        **FIELDS, "step_file": SimpleUploadedFile("bracket.step", box_step()),
        "drawing_file": SimpleUploadedFile("bracket.pdf", pdf_bytes()),
    })
    part = Part.objects.get()
    assert response.status_code == 302
    kinds = sorted(part.revisions.values_list("kind", "filename"))
    assert kinds == [(Kind.DRAWING, "bracket.pdf"), (Kind.STEP, "bracket.step")]
    page = logged_in(fabricator).get(f"/parts/{part.pk}/")
    assert b"bracket.step" in page.content and b"bracket.pdf" in page.content


def test_a_first_file_that_is_not_what_it_says_is_refused_and_no_part_is_left(fabricator):
    response = logged_in(fabricator).post("/parts/new/", {
        **FIELDS, "step_file": SimpleUploadedFile("bracket.step", b"not a step file at all"),
    })
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html.split('data-field="step_file"')[1]
    assert not Part.objects.exists() and not Revision.objects.exists()


def test_a_first_file_of_the_wrong_kind_is_refused_on_its_field(fabricator):
    response = logged_in(fabricator).post("/parts/new/", {
        **FIELDS, "drawing_file": SimpleUploadedFile("bracket.step", box_step()),
    })
    assert response.status_code == 400
    assert "must be a .pdf or .dxf file" in response.content.decode().split('data-field="drawing_file"')[1]
    assert not Part.objects.exists()


@pytest.mark.parametrize("role", ["lead", "fabricator"])
def test_leads_and_fabricators_edit_a_part_and_the_change_is_on_its_timeline(request, role):
    client = logged_in(request.getfixturevalue(role))
    part = make_part(name="Old name", material="Steel")
    assert b"Edit" in client.get(f"/parts/{part.pk}/").content
    form = client.get(f"/parts/{part.pk}/edit/")
    assert b'value="Old name"' in form.content
    response = client.post(f"/parts/{part.pk}/edit/", {**FIELDS, "part_number": part.part_number, "name": "New name"})
    assert response.status_code == 302
    part.refresh_from_db()
    assert part.name == "New name" and part.material == "Aluminium 6061"
    page = client.get(f"/parts/{part.pk}/").content.decode()
    assert "saved" in page and "New name" in page


def test_a_viewer_sees_no_edit_button_and_may_not_edit(viewer):
    client = logged_in(viewer)
    part = make_part(name="Kept")
    assert f'href="/parts/{part.pk}/edit/"' not in client.get(f"/parts/{part.pk}/").content.decode()
    assert client.get(f"/parts/{part.pk}/edit/").status_code == 403
    assert client.post(f"/parts/{part.pk}/edit/", {**FIELDS, "name": "Changed"}).status_code == 403
    part.refresh_from_db()
    assert part.name == "Kept"


def test_a_fabricator_sees_a_released_parts_fields_locked_and_cannot_change_them(fabricator):
    part = make_part(Status.REVIEWED, name="Plate", material="Steel", material_thickness="6 mm", amount=2)
    client = logged_in(fabricator)
    form = client.get(f"/parts/{part.pk}/edit/").content.decode()
    amount = form.split('data-field="amount"')[1].split('data-field=')[0]
    assert "disabled" in amount and "ask a lead" in amount
    response = client.post(
        f"/parts/{part.pk}/edit/",
        {**FIELDS, "part_number": part.part_number, "name": "Plate v2", "material": "Steel", "amount": "9"},
    )
    assert response.status_code == 302
    part.refresh_from_db()
    assert part.name == "Plate v2" and part.amount == 2 and part.material == "Steel"


def test_a_lead_changes_a_released_part_only_with_a_reason_which_goes_on_its_timeline(lead):
    part = make_part(Status.REVIEWED, name="Plate", material="Steel", material_thickness="6 mm", amount=2)
    client = logged_in(lead)
    edit = {**FIELDS, "part_number": part.part_number, "name": "Plate", "material": "Steel",
            "material_thickness": "6 mm", "amount": "3"}
    refused = client.post(f"/parts/{part.pk}/edit/", edit)
    assert refused.status_code == 400
    assert "give a reason" in refused.content.decode().split('data-field="reason"')[1]
    part.refresh_from_db()
    assert part.amount == 2
    response = client.post(f"/parts/{part.pk}/edit/", {**edit, "reason": "Customer wants a spare"})
    assert response.status_code == 302
    part.refresh_from_db()
    assert part.amount == 3
    event = part.events.get(action="edit_released")
    assert event.actor == lead and "Customer wants a spare" in event.note and "amount 2 → 3" in event.note


def test_editing_to_a_taken_part_number_is_refused_beside_the_field(fabricator):
    make_part(part_number="P-00001")
    part = make_part(part_number="P-00002")
    response = logged_in(fabricator).post(f"/parts/{part.pk}/edit/", {**FIELDS, "part_number": "P-00001"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode().split('data-field="part_number"')[1]
    assert services.Part.objects.get(pk=part.pk).part_number == "P-00002"
