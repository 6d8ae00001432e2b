"""GET /api/revisions/{a}/compare/{b}/: how one STEP revision's measured facts differ from another's, and
whether the geometry changed at all."""

import pytest

from files.tests.cad_shapes import step_of
from files.tests.helpers import post_file
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def converted(as_fabricator, django_capture_on_commit_callbacks):
    def upload(content, filename="block.step", part=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(as_fabricator, part or make_part(material="Aluminium 6061"), content, filename)
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return upload


def compare(client, a, b):
    response = client.get(f"/api/revisions/{a}/compare/{b}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_file_that_differs_only_in_its_header_has_the_same_geometry(converted, as_viewer):
    part = make_part()
    original = box_step()
    first = converted(original, part=part)
    second = converted(original.replace(b"Partsite test generator", b"Another exporter 2.0", 1), part=part)

    body = compare(as_viewer, first, second)

    assert (body["same_part"], body["same_bytes"], body["same_data"]) == (True, False, True)
    assert (body["geometry_changed"], body["changed"]) == (False, [])
    assert "only their headers differ" in body["basis"]


def test_a_file_rewritten_with_the_same_solid_is_not_a_geometry_change(converted, as_viewer):
    part = make_part()
    first, second = converted(box_step(), part=part), converted(box_step(padding=500), part=part)

    body = compare(as_viewer, first, second)

    assert (body["same_data"], body["geometry_changed"], body["changed"]) == (False, False, [])


def test_holes_drilled_in_a_plate_change_its_volume_mass_and_holes(converted, as_viewer):
    part = make_part(material="Aluminium 6061")
    plain = converted(step_of("plate", 100, 60, 6), part=part)
    drilled = converted(step_of("plate", 100, 60, 6, 20, 20, 10, 80, 40, 10), part=part)

    body = compare(as_viewer, plain, drilled)

    assert body["geometry_changed"] is True
    assert set(body["changed"]) == {"volume_mm3", "area_mm2", "mass_kg", "holes"}
    hole_volume = 2 * 3.141592653589793 * 5**2 * 6
    assert body["differences"]["volume_mm3"]["change"] == pytest.approx(-hole_volume)
    assert body["differences"]["mass_kg"]["change"] == pytest.approx(-hole_volume * 1e-9 * 2700)
    assert body["differences"]["holes"] == {"a": 0, "b": 2, "change": 2}
    assert body["differences"]["size_mm"]["change"] == pytest.approx([0, 0, 0])


def test_revisions_of_two_parts_can_be_compared(converted, as_viewer):
    first, second = converted(box_step(40, 20, 5)), converted(box_step(40, 20, 8))

    body = compare(as_viewer, first, second)

    assert body["same_part"] is False
    assert body["differences"]["size_mm"]["change"] == pytest.approx([0, 0, 3])
    assert body["differences"]["plate_thickness_mm"] == {"a": 5.0, "b": 8.0, "change": 3.0}
    assert "size_mm" in body["changed"]


def test_a_revision_not_yet_measured_cannot_be_compared_and_says_why(converted, as_viewer, as_fabricator):
    part = make_part()
    measured = converted(box_step(), part=part)
    drawing = post_file(as_fabricator, part, pdf_bytes(), "bracket.pdf").json()["id"]
    waiting = post_file(as_fabricator, part, box_step(30, 20, 5), "waiting.step").json()["id"]

    for other, reason in ((drawing, "a drawing is never measured"), (waiting, "its conversion is waiting")):
        response = as_viewer.get(f"/api/revisions/{measured}/compare/{other}/")
        assert response.status_code == 409
        assert reason in response.json()["detail"]


def test_comparing_with_a_revision_that_does_not_exist_is_a_404(converted, as_viewer):
    assert as_viewer.get(f"/api/revisions/{converted(box_step())}/compare/999999/").status_code == 404


@pytest.mark.parametrize("client", ["as_viewer", "as_fabricator", "as_lead"])
def test_every_role_may_compare(converted, request, client):
    first, second = converted(box_step()), converted(box_step(30, 20, 5))

    assert request.getfixturevalue(client).get(f"/api/revisions/{first}/compare/{second}/").status_code == 200


def test_anonymous_people_may_not_compare(converted, anonymous):
    first, second = converted(box_step()), converted(box_step(30, 20, 5))

    assert anonymous.get(f"/api/revisions/{first}/compare/{second}/").status_code in (401, 403)
