"""Geometry facts measured on the B-rep beside the conversion: size, volume, area, centre of mass,
solids, mass from the part's material, and the unit check, as the revision's JSON shows them."""

import pytest

from files import conversion
from files.geometry import GeometryResult
from files.models import Revision
from files.tests.cad_shapes import step_of
from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def measured(as_fabricator, django_capture_on_commit_callbacks):
    """Upload a file and run the conversion it queues; returns the revision's JSON afterwards."""

    def upload(content, filename="block.step", part=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(as_fabricator, part or make_part(), content, filename)
        assert response.status_code == 201, response.json()
        return as_fabricator.get(f"/api/revisions/{response.json()['id']}/").json()

    return upload


def test_a_converted_block_has_its_size_volume_area_and_centre_of_mass(measured):
    geometry = measured(box_step(40, 20, 5))["geometry"]

    assert geometry["size_mm"] == [40.0, 20.0, 5.0]
    assert geometry["volume_mm3"] == pytest.approx(4000.0)
    assert geometry["area_mm2"] == pytest.approx(2 * (40 * 20 + 40 * 5 + 20 * 5))
    assert geometry["centre_of_mass_mm"] == pytest.approx([20.0, 10.0, 2.5])
    assert geometry["solids"] == 1
    assert geometry["unit_warning"] is None


def test_a_model_written_in_metres_is_measured_in_millimetres(measured):
    geometry = measured(box_step(0.04, 0.02, 0.005, unit=None))["geometry"]

    assert geometry["size_mm"] == pytest.approx([40.0, 20.0, 5.0])
    assert geometry["volume_mm3"] == pytest.approx(4000.0)


def test_a_plate_written_in_inches_shows_its_size_in_millimetres(measured):
    step = step_of("box", 101.6, 50.8, 6.35, inch=True)  # written as 4 × 2 × 0.25 in
    assert b"CONVERSION_BASED_UNIT('INCH'" in step and b"(4.," in step

    geometry = measured(step)["geometry"]

    assert geometry["size_mm"] == pytest.approx([101.6, 50.8, 6.35])
    assert geometry["plate"]["thickness_mm"] == pytest.approx(6.35)


def test_the_mass_is_the_volume_times_the_density_of_the_parts_material(measured):
    aluminium = measured(box_step(100, 100, 10), part=make_part(material="6061 aluminum"))["geometry"]
    steel = measured(box_step(100, 100, 10), part=make_part(material="Steel 1018"))["geometry"]
    unknown = measured(box_step(100, 100, 10), part=make_part(material="unobtainium"))["geometry"]

    assert (aluminium["material"], aluminium["mass_kg"]) == ("Aluminium 6061", pytest.approx(0.27))
    assert (steel["material"], steel["mass_kg"]) == ("Steel 1018", pytest.approx(0.787))
    assert (unknown["material"], unknown["mass_kg"]) == (None, None)


def test_a_model_209_metres_long_is_flagged_as_a_likely_unit_error_with_the_plausible_size(measured):
    warning = measured(box_step(209000, 95000, 188900))["geometry"]["unit_warning"]

    assert warning["factor"] == pytest.approx(0.001)
    assert warning["plausible_size_mm"] == pytest.approx([209.0, 95.0, 188.9])
    assert "as if written in µm → 209 mm × 95 mm × 188.9 mm" in warning["message"]


def test_a_model_smaller_than_a_tenth_of_a_millimetre_is_flagged_as_if_written_in_metres(measured):
    warning = measured(box_step(0.05, 0.03, 0.01))["geometry"]["unit_warning"]

    assert warning["written_in"] == "metres"
    assert warning["plausible_size_mm"] == pytest.approx([50.0, 30.0, 10.0])


def test_a_model_without_solids_has_no_size_volume_or_mass(measured):
    revision = measured(box_step(solid=False))

    assert revision["conversion_status"] == "failed"
    assert (revision["geometry"]["solids"], revision["geometry"]["size_mm"], revision["geometry"]["volume_mm3"]) == (
        0, None, None
    )


def test_a_model_that_cannot_be_measured_stays_viewable_and_says_why(measured, monkeypatch):
    monkeypatch.setattr(conversion, "measure_step", lambda *a, **k: GeometryResult(ok=False, error="measuring crashed (signal 11)"))

    revision = measured(box_step())

    assert revision["conversion_status"] == "ready"
    assert (revision["geometry"], revision["geometry_error"]) == (None, "measuring crashed (signal 11)")


@pytest.mark.parametrize("client", ["as_viewer", "as_fabricator", "as_lead"])
def test_every_role_reads_the_facts(measured, request, client):
    revision = measured(box_step())

    body = request.getfixturevalue(client).get(f"/api/revisions/{revision['id']}/").json()

    assert body["geometry"]["size_mm"] == [40.0, 20.0, 5.0]


def test_anonymous_people_read_no_facts(measured, anonymous):
    revision = measured(box_step())

    assert anonymous.get(f"/api/revisions/{revision['id']}/").status_code in (401, 403)


def test_a_new_conversion_measures_again(measured, as_lead, django_capture_on_commit_callbacks):
    revision = measured(box_step())
    Revision.objects.filter(pk=revision["id"]).update(geometry={"solids": 9})

    with django_capture_on_commit_callbacks(execute=True):
        as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    assert Revision.objects.get(pk=revision["id"]).geometry["solids"] == 1
