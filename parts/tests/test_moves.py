"""Every move, from every status, by every role, through the API.

The expectations below are written out from the lifecycle spec on purpose
instead of being read from parts.lifecycle, so that the table in code is
checked against the spec rather than against itself.
"""

import pytest

from parts.lifecycle import Status
from parts.models import PartEvent
from parts.tests.factories import make_part, make_revision

S = Status
LEGAL = {
    "approve": ({S.PENDING}, S.REVIEWED),
    "repin": ({S.REVIEWED, S.IN_PROGRESS, S.ALREADY_STARTED}, None),  # approves a newer revision; stays put
    "assign": ({S.REVIEWED, S.ALREADY_STARTED}, S.IN_PROGRESS),
    "claim": ({S.REVIEWED, S.ALREADY_STARTED}, S.IN_PROGRESS),
    "unclaim": ({S.IN_PROGRESS}, S.ALREADY_STARTED),
    "complete": ({S.IN_PROGRESS}, S.COMPLETED),
    "revert": ({S.COMPLETED}, S.IN_PROGRESS),
    "mark_incorrect": ({S.COMPLETED}, S.REVIEWED),
    "send_back": ({S.REVIEWED, S.IN_PROGRESS, S.ALREADY_STARTED}, S.PENDING),
    "retire": (set(S) - {S.RETIRED}, S.RETIRED),
    "restore": ({S.RETIRED}, S.PENDING),
}
FABRICATOR_MAY = {"claim", "unclaim", "complete"}
BODIES = {
    "assign": {"assignee": "bob"},
    "unclaim": {"storage_location": "Shelf B2"},
    "revert": {"reason": "Holes were not deburred"},
    "mark_incorrect": {"reason": "Wrong material"},
    "send_back": {"reason": "Design changed"},
    "retire": {"reason": "Obsolete after redesign"},
}
CASES = [(action, status) for action in LEGAL for status in Status]


def expected_answer(role, action, status):
    sources, _ = LEGAL[action]
    if role == "viewer" or (role == "fabricator" and action not in FABRICATOR_MAY):
        return 403
    return 200 if status in sources else 409


@pytest.fixture
def clients(as_lead, as_fabricator, as_viewer):
    return {"lead": as_lead, "fabricator": as_fabricator, "viewer": as_viewer}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["lead", "fabricator", "viewer"])
@pytest.mark.parametrize("action,status", CASES)
def test_each_role_gets_the_answer_the_lifecycle_gives(clients, fabricator, role, action, status):
    # Work in progress or done belongs to the fabricator, so their own moves are tested.
    assignee = fabricator if status in (S.IN_PROGRESS, S.COMPLETED) else None
    part = make_part(status=status, assignee=assignee)
    # A CNC part is approved with a model; one approved earlier has a newer one to approve.
    make_revision(part)
    if action == "repin":
        part.approved_revision = part.revisions.get()
        part.save()
        make_revision(part)

    response = clients[role].post(f"/api/parts/{part.pk}/{action}/", BODIES.get(action, {}), format="json")

    assert response.status_code == expected_answer(role, action, status), response.json()
    part.refresh_from_db()
    if response.status_code == 200:
        assert part.status == (LEGAL[action][1] or status)
        assert response.json()["status"] == part.status
        event = PartEvent.objects.get(part=part)
        assert (event.action, event.from_status, event.to_status) == (action, status, part.status)
        assert event.actor == clients[role].user
    else:
        assert part.status == status
        assert not PartEvent.objects.filter(part=part).exists()
        assert response.json()["detail"]


@pytest.mark.django_db
def test_an_illegal_move_says_why(as_lead):
    part = make_part(status=S.COMPLETED)

    response = as_lead.post(f"/api/parts/{part.pk}/approve/")

    assert response.status_code == 409
    assert response.json()["detail"] == "Cannot approve a part that is completed; only from: in review."
    assert response.json()["status"] == "completed"


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["unclaim", "complete"])
def test_a_fabricator_cannot_finish_or_drop_someone_elses_work(as_fabricator, other_fabricator, action):
    part = make_part(status=S.IN_PROGRESS, assignee=other_fabricator)

    response = as_fabricator.post(f"/api/parts/{part.pk}/{action}/", BODIES.get(action, {}), format="json")

    assert response.status_code == 403
    assert "assignee or a lead" in response.json()["detail"]
    part.refresh_from_db()
    assert part.status == S.IN_PROGRESS


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["unclaim", "complete"])
def test_a_lead_can_finish_or_drop_anyones_work(as_lead, fabricator, action):
    part = make_part(status=S.IN_PROGRESS, assignee=fabricator)

    response = as_lead.post(f"/api/parts/{part.pk}/{action}/", BODIES.get(action, {}), format="json")

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(LEGAL) + ["events"])
def test_an_unknown_part_is_404_on_every_route(as_lead, action):
    if action == "events":
        response = as_lead.get("/api/parts/999999/events/")
    else:
        response = as_lead.post(f"/api/parts/999999/{action}/", BODIES.get(action, {}), format="json")

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_unknown_part_is_404_for_reads_and_writes(as_lead, method):
    assert getattr(as_lead, method)("/api/parts/999999/").status_code == 404
