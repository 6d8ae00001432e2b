"""Narrowing and sorting GET /api/parts/ with query parameters."""

import pytest

from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


def names(client, **params):
    response = client.get("/api/parts/", params)
    assert response.status_code == 200, response.json()
    return sorted(part["name"] for part in response.json()["results"])


@pytest.fixture
def shop(fabricator, other_fabricator):
    """A handful of parts spread over every queue."""

    def part(name, **fields):
        make_part(name=name, **{"subsystem": "", "material": "", **fields})

    part("Review bracket", status=Status.PENDING, notes="Chamfer all edges")
    part("Cnc plate", status=Status.REVIEWED, type="cnc", subsystem="Drivetrain", material="6061 Aluminium")
    part("Cnc spacer", status=Status.IN_PROGRESS, type="cnc", assignee=fabricator, subsystem="Intake")
    part("Hand gusset", status=Status.ALREADY_STARTED, type="hand", material="Polycarbonate")
    part("Misc wiring", status=Status.IN_PROGRESS, type="misc", assignee=other_fabricator, part_number="EL-2207")
    part("Done axle", status=Status.COMPLETED, type="cnc", assignee=fabricator)
    part("Old arm", status=Status.RETIRED, type="hand")


@pytest.mark.parametrize(
    "category,expected",
    [
        ("review", ["Review bracket"]),
        ("cnc", ["Cnc plate", "Cnc spacer"]),
        ("hand", ["Hand gusset"]),
        ("misc", ["Misc wiring"]),
        ("completed", ["Done axle"]),
        ("retired", ["Old arm"]),
    ],
)
def test_category_shows_one_queue(as_viewer, shop, category, expected):
    assert names(as_viewer, category=category) == expected


def test_status_accepts_several_values(as_viewer, shop):
    assert names(as_viewer, status=["reviewed", "completed"]) == ["Cnc plate", "Done axle"]


def test_type_filters_by_how_a_part_is_made(as_viewer, shop):
    assert names(as_viewer, type="hand") == ["Hand gusset", "Old arm"]


def test_subsystem_and_material_ignore_case_but_match_whole_values(as_viewer, shop):
    assert names(as_viewer, subsystem="drivetrain") == ["Cnc plate"]
    assert names(as_viewer, material="POLYCARBONATE") == ["Hand gusset"]
    assert names(as_viewer, material="Poly") == []


def test_assignee_takes_a_username(as_viewer, shop):
    assert names(as_viewer, assignee="dave") == ["Misc wiring"]


def test_assignee_me_is_the_caller(as_fabricator, shop):
    assert names(as_fabricator, assignee="me") == ["Cnc spacer", "Done axle"]


def test_filters_combine(as_viewer, shop):
    assert names(as_viewer, type="cnc", assignee="bob", status="in_progress") == ["Cnc spacer"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("GUSSET", ["Hand gusset"]),  # name, any case
        ("spac", ["Cnc spacer"]),  # part of a word
        ("el-22", ["Misc wiring"]),  # part number
        ("intake", ["Cnc spacer"]),  # subsystem
        ("aluminium", ["Cnc plate"]),  # material
        ("dav", ["Misc wiring"]),  # assignee's username
        ("chamfer", ["Review bracket"]),  # notes
        ("cnc plate", ["Cnc plate"]),  # every word must match somewhere
        ("plate gusset", []),
    ],
)
def test_search_is_partial_and_case_insensitive_across_fields(as_viewer, shop, text, expected):
    assert names(as_viewer, search=text) == expected


def test_ordering_sorts_by_the_named_field(as_viewer, db):
    make_part(name="B", amount=2)
    make_part(name="C", amount=3)
    make_part(name="A", amount=1)

    def ordered(ordering):
        return [p["name"] for p in as_viewer.get("/api/parts/", {"ordering": ordering}).json()["results"]]

    assert ordered("name") == ["A", "B", "C"]
    assert ordered("-amount") == ["C", "B", "A"]


@pytest.mark.parametrize(
    "param,value", [("status", "lost"), ("category", "laser"), ("type", "laser"), ("ordering", "password")]
)
def test_a_bad_filter_value_is_400_naming_the_parameter(as_viewer, param, value):
    response = as_viewer.get("/api/parts/", {param: value})

    assert response.status_code == 400
    assert list(response.json()) == [param]
    assert value in response.json()[param][0]
