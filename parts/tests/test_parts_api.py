"""GET/POST /api/parts/ and GET/PATCH/DELETE /api/parts/{id}/."""

import pytest

from parts.lifecycle import Status
from parts.models import Part, PartEvent
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db
PARTS = "/api/parts/"


def detail(part):
    return f"{PARTS}{part.pk}/"


def create(client, **fields):
    return client.post(PARTS, {"name": "Bracket", **fields}, format="json")


def test_a_new_part_waits_for_review_with_a_generated_number(as_fabricator):
    response = create(as_fabricator, name="Gusset", type="hand", amount=4)

    assert response.status_code == 201
    body = response.json()
    assert (body["part_number"], body["name"], body["type"], body["amount"]) == ("P-00001", "Gusset", "hand", 4)
    assert (body["status"], body["category"]) == ("pending", "review")
    assert (body["created_by"], body["assignee"]) == ("bob", None)
    event = PartEvent.objects.get(part_id=body["id"])
    assert (event.action, event.to_status, event.actor.username) == ("create", "pending", "bob")


def test_generated_numbers_count_up_past_the_highest_one(as_lead):
    numbers = [create(as_lead).json()["part_number"] for _ in range(2)]
    create(as_lead, part_number="P-00099")

    numbers.append(create(as_lead).json()["part_number"])

    assert numbers == ["P-00001", "P-00002", "P-00100"]


def test_a_given_part_number_is_kept(as_lead):
    body = create(as_lead, part_number="  DT-104  ").json()

    assert body["part_number"] == "DT-104"


def test_a_part_can_be_read_back(as_viewer):
    part = make_part(name="Axle spacer", notes="Face both ends", onshape_url="https://cad.onshape.com/documents/abc")

    body = as_viewer.get(detail(part)).json()

    assert (body["id"], body["name"], body["notes"]) == (part.pk, "Axle spacer", "Face both ends")
    assert body["onshape_url"] == "https://cad.onshape.com/documents/abc"
    assert body["allowed_actions"] == []


def test_editing_changes_only_the_fields_sent(as_fabricator):
    part = make_part(name="Bracket", material="6061 aluminium")

    response = as_fabricator.patch(detail(part), {"name": "Wide bracket", "amount": 3}, format="json")

    assert response.status_code == 200
    part.refresh_from_db()
    assert (part.name, part.amount, part.material) == ("Wide bracket", 3, "6061 aluminium")
    assert response.json()["name"] == "Wide bracket"


def test_editing_changes_updated_at_even_when_nothing_else_changes(as_lead):
    part = make_part(name="Bracket")
    before = part.updated_at

    as_lead.patch(detail(part), {"name": "Bracket"}, format="json")

    part.refresh_from_db()
    assert part.updated_at > before


@pytest.mark.parametrize(
    "field,value",
    [("status", "completed"), ("assignee", "bob"), ("completed_at", "2020-01-01T00:00:00Z"), ("created_by", "bob")],
)
def test_the_lifecycle_cannot_be_changed_by_editing(as_lead, fabricator, field, value):
    # bob exists, so only the serializer's read-only fields stand between the edit and the part.
    part = make_part(status=Status.PENDING)

    as_lead.patch(detail(part), {field: value}, format="json")

    part.refresh_from_db()
    assert (part.status, part.assignee, part.completed_at, part.created_by) == (Status.PENDING, None, None, None)


def test_a_lead_can_delete_a_part(as_lead):
    part = make_part()

    response = as_lead.delete(detail(part))

    assert response.status_code == 204
    assert not Part.objects.filter(pk=part.pk).exists()
    assert as_lead.get(detail(part)).status_code == 404


def test_put_is_not_offered(as_lead):
    part = make_part()

    assert as_lead.put(detail(part), {"name": "Whole"}, format="json").status_code == 405


def test_the_list_is_paginated_with_limit_and_offset(as_viewer):
    for n in range(3):
        make_part(name=f"Part {n}")

    first = as_viewer.get(PARTS, {"limit": 2}).json()
    rest = as_viewer.get(PARTS, {"limit": 2, "offset": 2}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert "offset=2" in first["next"]
    assert (len(rest["results"]), rest["next"]) == (1, None)
    assert rest["previous"]
    names = [p["name"] for p in first["results"] + rest["results"]]
    assert sorted(names) == ["Part 0", "Part 1", "Part 2"]


def test_the_list_shows_recently_changed_parts_first(as_lead):
    older, _ = make_part(name="Older"), make_part(name="Newer")
    as_lead.patch(detail(older), {"notes": "touched"}, format="json")

    names = [p["name"] for p in as_lead.get(PARTS).json()["results"]]

    assert names == ["Older", "Newer"]


@pytest.mark.parametrize(
    "fields,bad_field,message",
    [
        ({"amount": 0}, "amount", "greater than or equal to 1"),
        ({"amount": -3}, "amount", "greater than or equal to 1"),
        ({"amount": "many"}, "amount", "valid integer"),
        ({"amount": 10**20}, "amount", "less than or equal to"),
        ({"onshape_url": "not a url"}, "onshape_url", "valid URL"),
        ({"onshape_url": "javascript:alert(1)"}, "onshape_url", "valid URL"),
        ({"type": "laser"}, "type", '"laser" is not a valid choice.'),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": "   "}, "name", "may not be blank"),
        ({"name": None}, "name", "may not be null"),
        ({"name": "x" * 201}, "name", "no more than 200 characters"),
        ({"part_number": ""}, "part_number", "May not be blank; leave it out to have one generated."),
        ({"part_number": "P" * 65}, "part_number", "no more than 64 characters"),
    ],
)
def test_bad_input_is_400_naming_the_field(as_lead, fields, bad_field, message):
    response = create(as_lead, **fields)

    assert response.status_code == 400
    assert list(response.json()) == [bad_field]
    assert message in response.json()[bad_field][0]
    assert not Part.objects.exists()


def test_a_name_is_required(as_lead):
    response = as_lead.post(PARTS, {"type": "cnc"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}


def test_every_bad_field_is_named_at_once(as_lead):
    response = create(as_lead, name="", amount=0, type="laser", onshape_url="nope")

    assert response.status_code == 400
    assert set(response.json()) == {"name", "amount", "type", "onshape_url"}


def test_a_duplicate_part_number_is_refused_on_create(as_lead):
    make_part(part_number="DT-104")

    response = create(as_lead, part_number="DT-104")

    assert response.status_code == 400
    assert response.json() == {"part_number": ["Part number 'DT-104' is already taken."]}


def test_a_duplicate_part_number_is_refused_on_edit(as_lead):
    make_part(part_number="DT-104")
    part = make_part(part_number="DT-105")

    response = as_lead.patch(detail(part), {"part_number": "DT-104"}, format="json")

    assert response.status_code == 400
    assert "already taken" in response.json()["part_number"][0]
    part.refresh_from_db()
    assert part.part_number == "DT-105"


def test_a_part_may_keep_its_own_number_when_edited(as_lead):
    part = make_part(part_number="DT-105")

    response = as_lead.patch(detail(part), {"part_number": "DT-105", "notes": "ok"}, format="json")

    assert response.status_code == 200


def test_bad_input_on_edit_changes_nothing(as_lead):
    part = make_part(name="Bracket", amount=2)

    response = as_lead.patch(detail(part), {"name": "Renamed", "amount": 0}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["amount"]
    part.refresh_from_db()
    assert (part.name, part.amount) == ("Bracket", 2)


def test_malformed_json_is_400_saying_so(as_lead):
    response = as_lead.post(PARTS, '{"name": "Bracket",', content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
