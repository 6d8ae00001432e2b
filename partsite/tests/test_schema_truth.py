"""The OpenAPI schema says what the API really answers (Schemathesis checks it live: .ci/schemathesis.sh)."""

import pytest

from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anonymous):
    return anonymous.get("/api/schema/?format=json").json()


def parameters(schema, path):
    return {parameter["name"]: parameter for parameter in schema["paths"][path]["get"].get("parameters", [])}


@pytest.mark.parametrize("field", ["assignee", "reviewer", "created_by", "approved_revision", "latest_revision",
                                   "built_revision"])
def test_a_parts_people_and_revisions_may_be_null(schema, field):
    assert schema["components"]["schemas"]["Part"]["properties"][field]["nullable"] is True


def test_a_new_part_answers_null_where_the_schema_allows_it(as_viewer, schema):
    body = as_viewer.get(f"/api/parts/{make_part().pk}/").json()

    properties = schema["components"]["schemas"]["Part"]["properties"]
    assert {name for name, value in body.items() if value is None} <= {
        name for name, field in properties.items() if field.get("nullable")
    }


def test_the_audit_action_filter_takes_action_names(schema):
    action = parameters(schema, "/api/audit/")["action"]

    assert action["schema"]["items"]["type"] == "string"
    assert "download" in action["schema"]["items"]["enum"]


@pytest.mark.parametrize("path", ["/api/audit/export/", "/api/parts/export/", "/api/parts/archive/"])
def test_the_file_answers_document_their_filters_and_offer_no_format(schema, path):
    documented = parameters(schema, path)

    assert "format" not in documented
    assert {"actor", "action", "since"} <= set(documented) or {"status", "search", "ordering"} <= set(documented)


def test_the_imports_400_is_documented_as_the_report_it_is(schema):
    answer = schema["paths"]["/api/parts/import/"]["post"]["responses"]["400"]

    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/PartImportReport")


def test_options_on_a_list_level_action_that_takes_put_answers(as_viewer):
    response = as_viewer.options("/api/notifications/email-settings/")

    assert response.status_code == 200
    assert response.json()["name"]
