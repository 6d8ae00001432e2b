"""One request must not break the site: out-of-range numbers, deep or oversized JSON and bad
UTF-8 are refused with a 4xx naming the problem, and nothing is stored from them."""

import json

import pytest

from parts.models import Part
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

HUGE = "9223372036854775808"  # one past the largest 64-bit integer
HUGER = "99999999999999999999"


def test_an_amount_past_the_shops_range_is_refused_and_the_stats_still_answer(as_fabricator, as_viewer):
    response = as_fabricator.post("/api/parts/", {"name": "Bracket", "amount": 9223372036854775807}, format="json")

    assert response.status_code == 400
    assert "100000" in response.json()["amount"][0]
    assert not Part.objects.exists()
    assert as_viewer.get("/api/parts/stats/").status_code == 200


def test_the_largest_amount_is_accepted(as_fabricator):
    response = as_fabricator.post("/api/parts/", {"name": "Washer", "amount": 100_000}, format="json")

    assert response.status_code == 201
    assert response.json()["amount"] == 100_000


def test_the_database_refuses_an_amount_out_of_range_written_past_the_checks(db):
    from django.db import IntegrityError, transaction

    part = make_part()
    with pytest.raises(IntegrityError), transaction.atomic():
        Part.objects.filter(pk=part.pk).update(amount=100_001)


def test_the_admin_part_form_refuses_an_amount_out_of_range(lead, client):
    client.force_login(lead)

    response = client.post("/admin/parts/part/add/", {"name": "Bracket", "type": "cnc", "amount": "100001"})

    assert response.status_code == 200
    assert "100000" in response.content.decode()
    assert not Part.objects.exists()


@pytest.mark.parametrize("url, parameter", [
    (f"/api/revisions/?part={HUGER}", "part"),
    (f"/api/parts/?limit={HUGE}", None),
    (f"/api/parts/?offset={HUGE}", None),
    (f"/api/revisions/?offset={HUGER}", None),
    (f"/api/audit/?object_id={HUGE}", "object_id"),
    (f"/api/audit/?limit={HUGE}", None),
    (f"/api/notifications/?offset={HUGE}", None),
    (f"/api/notifications/?limit={HUGER}", None),
])
def test_a_huge_number_in_a_query_is_refused_naming_it_or_finds_nothing(as_lead, url, parameter):
    make_part()

    response = as_lead.get(url)

    if parameter is None:  # a page size past the cap gets the cap; an offset past the end, an empty page
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) <= 500
    else:
        assert response.status_code == 400, response.content
        assert parameter in response.json()


@pytest.mark.parametrize("url", [
    f"/api/parts/{HUGE}/", f"/api/revisions/{HUGE}/", f"/api/parts/{HUGER}/events/", f"/api/uploads/{HUGE}/",
    f"/api/parts/{HUGE}/revisions/",
])
def test_a_huge_id_in_a_path_is_not_found(as_lead, url):
    assert as_lead.get(url).status_code == 404


def test_the_page_size_is_capped(as_viewer):
    Part.objects.bulk_create(Part(part_number=f"P-{number:05}", name="Spacer") for number in range(501))

    body = as_viewer.get("/api/parts/?limit=1000000").json()

    assert (body["count"], len(body["results"])) == (501, 500)
    assert "limit=500" in body["next"]


def test_the_page_size_cap_is_in_the_schema(as_viewer):
    schema = as_viewer.get("/api/schema/?format=json").json()
    limit = next(p for p in schema["paths"]["/api/parts/"]["get"]["parameters"] if p["name"] == "limit")

    assert limit["schema"]["maximum"] == 500
    assert "500" in limit["description"]


def test_json_nested_a_thousand_deep_is_refused(as_fabricator):
    body = "[" * 1000 + "]" * 1000

    response = as_fabricator.post("/api/parts/", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_a_json_body_over_the_limit_is_a_json_413(as_fabricator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = as_fabricator.post(
        "/api/parts/", json.dumps({"name": "Bracket", "notes": "x" * 2000}), content_type="application/json",
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "1000" in response.json()["detail"]
    assert not Part.objects.exists()


def test_invalid_utf8_in_a_json_body_is_refused(as_fabricator):
    response = as_fabricator.post(
        "/api/parts/", b'{"name": "Br\xffcket"}', content_type="application/json",
    )

    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert not Part.objects.exists()


def test_invalid_utf8_in_an_api_form_body_is_refused(as_fabricator):
    response = as_fabricator.post(
        "/api/parts/", b"name=Br%FFcket", content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert not Part.objects.exists()


def test_invalid_utf8_in_a_page_form_is_refused(lead, client):
    from parts.lifecycle import Status

    part = make_part(status=Status.COMPLETED)
    client.force_login(lead)

    response = client.post(
        f"/parts/{part.pk}/move/revert/", b"reason=Holes%FFtoo+small", content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    part.refresh_from_db()
    assert part.status == Status.COMPLETED
    assert not part.events.exists()


def test_a_csv_import_refuses_an_amount_out_of_range(as_lead):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = as_lead.post(
        "/api/parts/import/", {"file": SimpleUploadedFile("parts.csv", b"name,amount\nBracket,100001\n")},
        format="multipart",
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["line"], error["field"]) == (2, "amount")
    assert "100000" in error["message"]
    assert not Part.objects.exists()


def test_the_schema_gives_the_amounts_range(anonymous):
    schema = anonymous.get("/api/schema/?format=json").json()

    amount = schema["components"]["schemas"]["Part"]["properties"]["amount"]
    assert (amount["minimum"], amount["maximum"]) == (1, 100_000)


@pytest.mark.parametrize("url, status", [
    (f"/parts/{HUGER}/", 404), (f"/?page={HUGER}", 200), (f"/audit/?object_id={HUGE}", 200),
    (f"/audit/?page={HUGER}", 200), (f"/inbox/?page={HUGER}", 200),
])
def test_a_huge_number_on_a_page_is_no_server_error(lead, client, url, status):
    client.force_login(lead)

    assert client.get(url).status_code == status


def test_a_form_in_the_charset_it_names_is_read_in_that_charset(as_fabricator):
    response = as_fabricator.post(
        "/api/parts/", "name=Tr%E4ger".encode(), content_type="application/x-www-form-urlencoded; charset=latin-1",
    )

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Träger"


def test_a_body_in_an_unknown_charset_is_refused_naming_it(as_fabricator):
    response = as_fabricator.post("/api/parts/", b'{"name": "x"}', content_type="application/json; charset=klingon")

    assert response.status_code == 400
    assert "klingon" in response.json()["detail"]
