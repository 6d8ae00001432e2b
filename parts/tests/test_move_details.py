"""What each move records besides the status."""

import pytest

from parts.lifecycle import Status
from parts.tests.factories import make_part, make_revision

pytestmark = pytest.mark.django_db


def post(client, part, action, body=None):
    return client.post(f"/api/parts/{part.pk}/{action}/", body or {}, format="json")


def test_approve_records_the_reviewer_and_time(as_lead, lead):
    part = make_part()
    make_revision(part)

    body = post(as_lead, part, "approve").json()

    assert body["reviewer"] == "alice"
    assert body["reviewed_at"]
    assert body["category"] == "cnc"


def test_claim_makes_the_claimer_the_assignee(as_fabricator):
    part = make_part(status=Status.REVIEWED, type="hand")

    body = post(as_fabricator, part, "claim").json()

    assert (body["status"], body["assignee"], body["category"]) == ("in_progress", "bob", "hand")
    assert body["claimed_at"]


def test_assign_gives_the_part_to_the_named_user(as_lead, fabricator):
    part = make_part(status=Status.REVIEWED)

    body = post(as_lead, part, "assign", {"assignee": "bob"}).json()

    assert (body["status"], body["assignee"]) == ("in_progress", "bob")


def test_assign_names_an_unknown_user(as_lead):
    part = make_part(status=Status.REVIEWED)

    response = post(as_lead, part, "assign", {"assignee": "nobody"})

    assert response.status_code == 400
    assert response.json() == {"assignee": ["No active user named nobody."]}


def test_assign_refuses_a_viewer_as_assignee(as_lead, viewer):
    part = make_part(status=Status.REVIEWED)

    response = post(as_lead, part, "assign", {"assignee": "carol"})

    assert response.status_code == 400
    assert "cannot be assigned" in response.json()["assignee"][0]


def test_unclaim_keeps_the_location_for_the_next_person(as_fabricator, as_other_fabricator, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    body = post(as_fabricator, part, "unclaim", {"storage_location": "Cart 3, top shelf"}).json()
    assert (body["status"], body["assignee"], body["storage_location"]) == ("already_started", None, "Cart 3, top shelf")

    seen_by_next = as_other_fabricator.get(f"/api/parts/{part.pk}/").json()
    assert seen_by_next["storage_location"] == "Cart 3, top shelf"
    assert "claim" in seen_by_next["allowed_actions"]


@pytest.mark.parametrize("body", [{}, {"storage_location": ""}, {"storage_location": "   "}])
def test_unclaim_requires_a_storage_location(as_fabricator, fabricator, body):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    response = post(as_fabricator, part, "unclaim", body)

    assert response.status_code == 400
    assert "storage_location" in response.json()
    part.refresh_from_db()
    assert part.status == Status.IN_PROGRESS


def test_complete_records_time_and_optional_location(as_fabricator, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    body = post(as_fabricator, part, "complete", {"storage_location": "Finished bin"}).json()

    assert (body["status"], body["category"], body["storage_location"]) == ("completed", "completed", "Finished bin")
    assert body["completed_at"]
    assert body["assignee"] == "bob"


def test_revert_keeps_the_assignee_and_requires_a_reason(as_lead, fabricator):
    part = make_part(status=Status.COMPLETED, assignee=fabricator)

    refused = post(as_lead, part, "revert", {})
    body = post(as_lead, part, "revert", {"reason": "Burrs left"}).json()

    assert refused.status_code == 400 and "reason" in refused.json()
    assert (body["status"], body["assignee"], body["completed_at"]) == ("in_progress", "bob", None)
    events = as_lead.get(f"/api/parts/{part.pk}/events/").json()
    assert events[-1]["note"] == "Burrs left"


def test_mark_incorrect_flags_the_part_and_puts_it_back_in_its_queue(as_lead, fabricator):
    part = make_part(status=Status.COMPLETED, assignee=fabricator)

    body = post(as_lead, part, "mark_incorrect", {"reason": "Made from 3 mm instead of 6 mm"}).json()

    assert (body["status"], body["completed_incorrectly"], body["assignee"]) == ("reviewed", True, None)


def test_completing_again_clears_the_incorrect_flag(as_fabricator, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator, completed_incorrectly=True)

    body = post(as_fabricator, part, "complete").json()

    assert body["completed_incorrectly"] is False


def test_send_back_clears_approval_and_assignee(as_lead, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator, reviewer=fabricator)

    body = post(as_lead, part, "send_back", {"reason": "Hole pattern changed"}).json()

    assert (body["status"], body["category"], body["assignee"], body["reviewer"]) == ("pending", "review", None, None)


def test_retire_and_restore(as_lead):
    part = make_part(status=Status.REVIEWED)

    retired = post(as_lead, part, "retire", {"reason": "Replaced by P-00077"}).json()
    restored = post(as_lead, part, "restore").json()

    assert (retired["status"], retired["category"]) == ("retired", "retired")
    assert restored["status"] == "pending"


def test_every_write_changes_updated_at(as_lead, fabricator):
    part = make_part()
    make_revision(part)
    before = part.updated_at

    post(as_lead, part, "approve")

    part.refresh_from_db()
    assert part.updated_at > before


def test_the_timeline_lists_moves_in_order_with_actor_and_note(as_lead, as_fabricator, fabricator):
    part = as_lead.post("/api/parts/", {"name": "Gusset", "type": "hand"}, format="json").json()
    pk = part["id"]
    as_lead.post(f"/api/parts/{pk}/approve/")
    as_fabricator.post(f"/api/parts/{pk}/claim/")
    as_fabricator.post(f"/api/parts/{pk}/unclaim/", {"storage_location": "Bin 4"}, format="json")

    events = as_lead.get(f"/api/parts/{pk}/events/").json()

    assert [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in events] == [
        ("create", "", "pending", "alice"),
        ("approve", "pending", "reviewed", "alice"),
        ("claim", "reviewed", "in_progress", "bob"),
        ("unclaim", "in_progress", "already_started", "bob"),
    ]
    assert events[-1]["note"] == "Stored at Bin 4"
    assert all(e["created_at"] for e in events)


def test_allowed_actions_follow_role_and_state(as_lead, as_fabricator, as_viewer, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    def actions(client):
        return set(client.get(f"/api/parts/{part.pk}/").json()["allowed_actions"])

    assert actions(as_lead) == {"repin", "unclaim", "complete", "send_back", "retire"}
    assert actions(as_fabricator) == {"unclaim", "complete"}
    assert actions(as_viewer) == set()
