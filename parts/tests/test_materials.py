"""Materials and the plate check: the materials table, a part's stated thickness against the plate in its
model, and where a mismatch shows (part page, board card, admin)."""

import pytest
from django.test import Client

from files.tests.cad_shapes import step_of
from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts.materials import material_for, parse_thickness_mm, part_thickness_mismatch
from parts.models import Material
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text, mm", [
    ("1/4 in", 6.35), ("0.25in", 6.35), ("6 mm", 6.0), ("6.35", 6.35), ('3/16"', 4.7625), ("1 1/2 in", 38.1),
    ("6,35 mm", 6.35), (".125 inch", 3.175), ("0.5 cm", 5.0), ("  12MM ", 12.0),
])
def test_stated_thicknesses_are_read_in_millimetres(text, mm):
    assert parse_thickness_mm(text) == pytest.approx(mm)


@pytest.mark.parametrize("text", ["", "thick", "12 ga", "1/0 in", "6 mm 2"])
def test_a_thickness_that_is_not_a_length_is_not_guessed(text):
    assert parse_thickness_mm(text) is None


def test_the_shops_common_materials_are_in_the_table_with_their_density():
    densities = dict(Material.objects.values_list("name", "density_kg_m3"))

    assert densities["Aluminium 6061"] == 2700
    assert densities["Steel 1018"] == 7870
    assert {"Polycarbonate", "HDPE", "Plywood", "PLA", "PETG"} <= set(densities)


@pytest.mark.parametrize("text", ["Aluminium 6061", "6061 aluminum", "6061-T6", "aluminium", "AL 6061"])
def test_a_parts_free_text_material_finds_its_row(text):
    assert material_for(text).name == "Aluminium 6061"


def test_a_material_the_table_does_not_know_finds_nothing():
    assert material_for("unobtainium") is None


@pytest.fixture
def plate_part(fabricator, django_capture_on_commit_callbacks):
    """A CNC part with a 6 mm plate (100 x 60, one 8 mm hole) uploaded and converted."""
    step = step_of("plate", 100, 60, 6, 50, 30, 8)

    def make(thickness, **fields):
        part = make_part(material_thickness=thickness, **fields)
        client = Client()
        client.force_login(fabricator)
        with django_capture_on_commit_callbacks(execute=True):
            assert post_file(client, part, step, "plate.step").status_code == 201
        return part

    return make


def _page(user, path):
    client = Client()
    client.force_login(user)
    return client.get(path).content.decode()


def test_a_6_mm_plate_on_a_part_saying_a_quarter_inch_warns(plate_part, viewer):
    part = plate_part("1/4 in")

    mismatch = part_thickness_mismatch(part)
    assert (mismatch.stated_mm, mismatch.measured_mm) == (pytest.approx(6.35), pytest.approx(6.0))
    assert "6.00 mm plate, but the part says 1/4 in (6.35 mm)" in _page(viewer, f"/parts/{part.pk}/")
    assert 'data-warning="thickness"' in _page(viewer, "/?queue=review")


@pytest.mark.parametrize("stated", ["6 mm", "6", "6.05 mm"])
def test_a_plate_as_thick_as_the_part_says_does_not_warn(plate_part, viewer, stated):
    part = plate_part(stated)

    assert part_thickness_mismatch(part) is None
    assert 'data-warning="thickness"' not in _page(viewer, f"/parts/{part.pk}/")
    assert 'data-warning="thickness"' not in _page(viewer, "/?queue=review")


def test_a_6_35_mm_plate_on_a_quarter_inch_part_does_not_warn(fabricator, django_capture_on_commit_callbacks):
    part = make_part(material_thickness="1/4 in")
    client = Client()
    client.force_login(fabricator)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client, part, step_of("plate", 100, 60, 6.35), "plate.step")

    assert part_thickness_mismatch(part) is None


def test_hand_parts_and_parts_that_state_no_thickness_are_not_checked(plate_part):
    assert part_thickness_mismatch(plate_part("1/4 in", type="hand")) is None
    assert part_thickness_mismatch(plate_part("")) is None


def test_the_admin_shows_the_thickness_mismatch(plate_part, lead):
    part = plate_part("1/4 in")

    assert "thinner" in _page(lead, f"/admin/parts/part/{part.pk}/change/")


def test_the_part_page_shows_size_volume_mass_and_the_plates_thickness(plate_part, viewer):
    part = plate_part("6 mm", material="Aluminium 6061")

    page = _page(viewer, f"/parts/{part.pk}/")

    assert "100.0 × 60.0 × 6.0 mm" in page
    volume = 100 * 60 * 6 - 3.141592653589793 * 4**2 * 6
    assert f"{volume:.0f} mm³" in page
    assert f"{volume * 1e-9 * 2700:.3f} kg" in page
    assert "6.00 mm thick, 1 hole or pocket" in page
    assert f'data-bbox="100.0,60.0,6.0"' in page


def test_the_part_page_flags_a_model_at_the_wrong_scale(viewer, fabricator, django_capture_on_commit_callbacks):
    part = make_part()
    client = Client()
    client.force_login(fabricator)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client, part, box_step(209000, 95000, 188900), "motor.step")

    assert "as if written in µm → 209 mm × 95 mm × 188.9 mm" in _page(viewer, f"/parts/{part.pk}/")


def test_leads_edit_materials_in_the_admin(lead):
    client = Client()
    client.force_login(lead)

    response = client.post("/admin/parts/material/add/", {"name": "Delrin", "density_kg_m3": "1410", "default_thickness": "1/4 in", "other_names": "POM, Acetal"})

    assert response.status_code == 302
    assert material_for("acetal").density_kg_m3 == 1410


@pytest.mark.parametrize("role", ["fabricator", "viewer"])
def test_only_leads_edit_materials(role, request):
    client = Client()
    client.force_login(request.getfixturevalue(role))

    client.post("/admin/parts/material/add/", {"name": "Delrin", "density_kg_m3": "1410"})

    assert not Material.objects.filter(name="Delrin").exists()


# Approval asks the lead to confirm a thickness mismatch, on every channel


def test_the_api_refuses_to_approve_a_plate_thinner_than_the_part_says_until_the_lead_confirms_it(plate_part, as_lead):
    part = plate_part("1/4 in")

    refused = as_lead.post(f"/api/parts/{part.pk}/approve/", {}, format="json")

    assert refused.status_code == 409
    assert "6.00 mm plate, but the part says 1/4 in (6.35 mm)" in refused.json()["detail"]
    assert "thickness_confirmed" in refused.json()["detail"]
    part.refresh_from_db()
    assert (part.status, part.approved_revision) == ("pending", None)
    assert not part.events.filter(action="approve").exists()

    approved = as_lead.post(f"/api/parts/{part.pk}/approve/", {"thickness_confirmed": True}, format="json")

    assert approved.status_code == 200 and approved.json()["status"] == "reviewed"
    note = part.events.get(action="approve").note
    assert note.startswith("Approved R1 plate.step. Thickness confirmed: The model is a 6.00 mm plate")


def test_a_plate_as_thick_as_the_part_says_is_approved_without_a_confirmation(plate_part, as_lead):
    part = plate_part("6 mm")

    approved = as_lead.post(f"/api/parts/{part.pk}/approve/", {}, format="json")

    assert approved.status_code == 200
    assert "Thickness" not in part.events.get(action="approve").note


def test_a_newer_revision_of_the_wrong_thickness_is_not_pinned_unconfirmed(plate_part, as_lead, fabricator,
                                                                          django_capture_on_commit_callbacks):
    part = plate_part("6 mm")
    assert as_lead.post(f"/api/parts/{part.pk}/approve/", {}, format="json").status_code == 200
    client = Client()
    client.force_login(fabricator)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client, part, step_of("plate", 100, 60, 8, 50, 30, 8), "plate.step")

    refused = as_lead.post(f"/api/parts/{part.pk}/repin/", {}, format="json")

    assert refused.status_code == 409 and "R2: The model is a 8.00 mm plate" in refused.json()["detail"]
    part.refresh_from_db()
    assert part.approved_revision.number == 1
    assert as_lead.post(f"/api/parts/{part.pk}/repin/", {"thickness_confirmed": True}, format="json").status_code == 200


def test_the_part_pages_approve_form_asks_the_lead_to_confirm_the_thickness(plate_part, lead):
    part = plate_part("1/4 in")
    page = Client()
    page.force_login(lead)

    form = page.get(f"/parts/{part.pk}/").content.decode()
    assert 'name="thickness_confirmed"' in form
    assert "Approve although the plate is not as thick as the part says" in form

    refused = page.post(f"/parts/{part.pk}/move/approve/", follow=True).content.decode()
    part.refresh_from_db()
    assert part.status == "pending" and "Confirm the thickness" in refused

    page.post(f"/parts/{part.pk}/move/approve/", {"thickness_confirmed": "on"})
    part.refresh_from_db()
    assert part.status == "reviewed"


def test_the_approve_form_has_no_thickness_box_when_the_plate_is_as_thick_as_the_part_says(plate_part, lead):
    part = plate_part("6 mm")
    page = Client()
    page.force_login(lead)

    assert 'name="thickness_confirmed"' not in page.get(f"/parts/{part.pk}/").content.decode()


def test_the_admins_approve_button_asks_the_lead_to_confirm_the_thickness(plate_part, lead):
    part = plate_part("1/4 in")
    desk = Client()
    desk.force_login(lead)
    approve = f"/admin/parts/part/{part.pk}/actions/approve/"

    form = desk.post(approve).content.decode()
    assert 'name="thickness_confirmed"' in form and "R1: The model is a 6.00 mm plate" in form

    desk.post(approve, {"apply": "1", "revision": ""})
    part.refresh_from_db()
    assert part.status == "pending"

    desk.post(approve, {"apply": "1", "revision": "", "thickness_confirmed": "on"})
    part.refresh_from_db()
    assert part.status == "reviewed"


def test_a_fabricator_sees_the_warning_but_gets_no_approve_form(plate_part, fabricator):
    part = plate_part("1/4 in")

    page = _page(fabricator, f"/parts/{part.pk}/")

    assert "6.00 mm plate, but the part says 1/4 in (6.35 mm)" in page
    assert 'name="thickness_confirmed"' not in page
