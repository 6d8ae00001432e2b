"""GET /api/parts/export/ (CSV with the list's filters) and POST /api/parts/import/ (leads)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse

from conftest import client_for
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

GOOD = b"part_number,name,amount\nP-30001,Bracket,2\nP-30002,Gusset,1\n"
BAD = b"part_number,name,amount\nP-30001,Bracket,0\nP-30002,,1\n"


def exported(client, query=""):
    response = client.get(f"/api/parts/export/{query}")
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="parts-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def post_import(client, data, query="", **fields):
    return client.post(
        f"/api/parts/import/{query}", {"file": SimpleUploadedFile("parts.csv", data), **fields}, format="multipart"
    )


@pytest.mark.parametrize(
    "query",
    ["", "?category=hand", "?status=pending&status=completed", "?search=bracket", "?subsystem=FRAME",
     "?assignee=me", "?type=hand&ordering=-amount", "?ordering=name"],
)
def test_the_export_holds_exactly_the_parts_the_list_shows_in_its_order(as_fabricator, fabricator, query):
    make_part(name="Bracket", amount=3, subsystem="Frame")
    make_part(name="Gusset", type="hand", amount=5, status=Status.IN_PROGRESS, assignee=fabricator)
    make_part(name="Spacer", type="hand", amount=1, status=Status.COMPLETED)
    make_part(name="Cover", type="misc", status=Status.REVIEWED, subsystem="Frame")
    listed = as_fabricator.get(f"/api/parts/{query}").json()["results"]

    rows = exported(as_fabricator, query)

    assert listed
    assert [row["part_number"] for row in rows] == [part["part_number"] for part in listed]


def test_the_export_is_not_paginated(as_viewer):
    for _ in range(60):
        make_part()

    assert len(exported(as_viewer, "?limit=10")) == 60


def test_a_bad_filter_is_400_naming_it(as_viewer):
    response = as_viewer.get("/api/parts/export/?category=nonsense")

    assert response.status_code == 400
    assert "category" in response.json()


def test_a_client_asking_for_csv_gets_it(as_viewer):
    make_part(name="Bracket")

    response = as_viewer.get("/api/parts/export/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert b"Bracket" in b"".join(response.streaming_content)


def test_every_role_may_export_but_not_without_one(as_lead, as_fabricator, as_viewer, roleless, anonymous):
    url = "/api/parts/export/"

    assert [client.get(url).status_code for client in (as_lead, as_fabricator, as_viewer)] == [200, 200, 200]
    assert client_for(roleless).get(url).status_code == 403
    assert anonymous.get(url).status_code == 401


# Import


def test_a_lead_imports_a_file(as_lead):
    response = post_import(as_lead, GOOD)

    assert response.status_code == 201
    body = response.json()
    assert (body["dry_run"], body["rows"], body["created"], body["errors"]) == (False, 2, ["P-30001", "P-30002"], [])
    assert body["detail"] == "Imported 2 rows: P-30001, P-30002."
    assert Part.objects.get(part_number="P-30001").created_by == as_lead.user


@pytest.mark.parametrize("how", [{"query": "?dry_run=1"}, {"dry_run": "true"}])
def test_a_dry_run_checks_without_writing(as_lead, how):
    response = post_import(as_lead, GOOD, **how)

    assert response.status_code == 200
    assert response.json()["detail"] == "Dry run: 2 rows would be imported; nothing was written."
    assert not Part.objects.exists()


@pytest.mark.parametrize("query", ["", "?dry_run=1"])
def test_bad_rows_are_400_with_each_problem_and_nothing_is_written(as_lead, query):
    response = post_import(as_lead, BAD, query)

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "2 problems found; nothing was imported."
    assert body["errors"] == [
        {"line": 2, "field": "amount", "message": "Ensure this value is greater than or equal to 1.",
         "text": "line 2, field amount: Ensure this value is greater than or equal to 1."},
        {"line": 3, "field": "name", "message": "This field is required.",
         "text": "line 3, field name: This field is required."},
    ]
    assert not Part.objects.exists()


def test_an_import_without_a_file_is_400(as_lead):
    response = as_lead.post("/api/parts/import/", {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == [{
        "line": None, "field": "file", "message": "No file was submitted.", "text": "field file: No file was submitted.",
    }]


def test_a_dry_run_that_is_not_a_boolean_is_reported_like_any_problem(as_lead):
    response = as_lead.post(
        "/api/parts/import/?dry_run=perhaps", {"file": SimpleUploadedFile("parts.csv", b"name\nBracket\n")},
        format="multipart",
    )

    assert response.status_code == 400
    assert [(error["field"], error["message"]) for error in response.json()["errors"]] == [
        ("dry_run", "Must be a valid boolean."),
    ]
    assert not Part.objects.exists()


def test_only_leads_may_import(as_fabricator, as_viewer, roleless, anonymous):
    for client in (as_fabricator, as_viewer):
        response = post_import(client, GOOD)
        assert response.status_code == 403
        assert response.json()["detail"] == "Your role may not import parts."
    assert post_import(client_for(roleless), GOOD).status_code == 403
    assert post_import(anonymous, GOOD).status_code == 401
    assert not Part.objects.exists()
