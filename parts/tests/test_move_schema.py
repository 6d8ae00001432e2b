"""The OpenAPI schema documents each move: its own request body, its summary, and the answers
the API really gives (checked against real answers).

The bodies below are written out from the lifecycle spec, not read from parts.moves."""

import json

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

# Each move's body: its fields, and which of them are required. None: the move takes no body.
BODIES = {
    "approve": ({"revision", "thickness_confirmed", "note"}, set()),
    "repin": ({"revision", "thickness_confirmed", "note"}, set()),
    "assign": ({"assignee"}, {"assignee"}),
    "claim": None,
    "unclaim": ({"storage_location"}, {"storage_location"}),
    "complete": ({"storage_location"}, set()),
    "revert": ({"reason"}, {"reason"}),
    "mark_incorrect": ({"reason"}, {"reason"}),
    "send_back": ({"reason"}, {"reason"}),
    "retire": ({"reason"}, {"reason"}),
    "restore": ({"note"}, set()),
}


@pytest.fixture(scope="module")
def schema():
    """The schema /api/schema/ serves, as JSON."""
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


def operation(schema, move):
    return schema["paths"][f"/api/parts/{{id}}/{move}/"]["post"]


def component(schema, reference):
    return schema["components"]["schemas"][reference["$ref"].rsplit("/", 1)[-1]]


def answer_schema(schema, move, status_code):
    return operation(schema, move)["responses"][str(status_code)]["content"]["application/json"]["schema"]


def assert_documented(schema, move, response):
    """The answer fits the schema documented for its status code, and has no key it does not document."""
    documented = answer_schema(schema, move, response.status_code)
    jsonschema.validate(response.json(), {**documented, "components": schema["components"]})
    assert set(response.json()) <= set(component(schema, documented)["properties"]), response.json()


@pytest.mark.parametrize("move", BODIES)
def test_each_move_documents_its_own_body(schema, move):
    body = operation(schema, move).get("requestBody")

    if BODIES[move] is None:
        assert body is None
        return
    fields, required = BODIES[move]
    documented = component(schema, body["content"]["application/json"]["schema"])
    assert set(documented["properties"]) == fields
    assert set(documented.get("required", [])) == required


@pytest.mark.parametrize("move", BODIES)
def test_each_move_documents_its_answers_and_says_what_it_does(schema, move):
    documented = operation(schema, move)
    codes = set(documented["responses"])

    assert codes == ({"200", "403", "404", "409"} if BODIES[move] is None else {"200", "400", "403", "404", "409"})
    assert answer_schema(schema, move, 200) == {"$ref": "#/components/schemas/Part"}
    conflict = component(schema, answer_schema(schema, move, 409))
    assert {"detail", "status"} <= set(conflict["properties"])
    assert documented["summary"]


def test_each_move_has_a_summary_of_its_own(schema):
    summaries = [operation(schema, move)["summary"] for move in BODIES]

    assert len(set(summaries)) == len(BODIES)


def test_an_illegal_move_answers_as_documented(schema, as_lead):
    part = make_part(status=Status.COMPLETED)

    response = as_lead.post(f"/api/parts/{part.pk}/approve/")

    assert response.status_code == 409
    assert response.json()["status"] == "completed"
    assert_documented(schema, "approve", response)


@pytest.mark.parametrize("body", [{}, {"reason": "   "}, ["not", "an", "object"], {"reason": "x" * 2001}])
def test_a_refused_body_answers_as_documented(schema, as_lead, body):
    part = make_part(status=Status.COMPLETED)

    response = as_lead.post(f"/api/parts/{part.pk}/revert/", body, format="json")

    assert response.status_code == 400
    assert_documented(schema, "revert", response)


def test_a_person_who_cannot_be_assigned_answers_as_documented(schema, as_lead, viewer):
    part = make_part(status=Status.REVIEWED)

    response = as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": "carol"}, format="json")

    assert response.status_code == 400
    assert_documented(schema, "assign", response)


def test_a_refused_role_answers_as_documented(schema, as_fabricator):
    part = make_part(status=Status.PENDING)

    response = as_fabricator.post(f"/api/parts/{part.pk}/approve/")

    assert response.status_code == 403
    assert_documented(schema, "approve", response)


def test_someone_elses_part_answers_as_documented(schema, as_fabricator, other_fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=other_fabricator)

    response = as_fabricator.post(f"/api/parts/{part.pk}/unclaim/", {"storage_location": "Shelf 2"}, format="json")

    assert response.status_code == 403
    assert_documented(schema, "unclaim", response)


def test_a_missing_part_answers_as_documented(schema, as_lead):
    response = as_lead.post("/api/parts/999999/claim/")

    assert response.status_code == 404
    assert_documented(schema, "claim", response)
