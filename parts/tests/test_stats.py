"""GET /api/parts/stats/: how many parts, and how many pieces, in each queue and status."""

import pytest

from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db
EMPTY = {"count": 0, "amount": 0}


def test_with_no_parts_every_bucket_is_zero(as_viewer):
    body = as_viewer.get("/api/parts/stats/").json()

    assert body["total"] == EMPTY
    assert body["categories"] == {c: EMPTY for c in ["review", "cnc", "hand", "misc", "completed", "retired"]}
    assert body["statuses"] == {s: EMPTY for s in Status.values}


def test_it_counts_parts_and_adds_up_amounts(as_viewer, fabricator):
    make_part(status=Status.PENDING, type="hand", amount=2)
    make_part(status=Status.REVIEWED, type="cnc", amount=4)
    make_part(status=Status.IN_PROGRESS, type="cnc", amount=1, assignee=fabricator)
    make_part(status=Status.ALREADY_STARTED, type="hand", amount=10)
    make_part(status=Status.COMPLETED, type="misc", amount=3)
    make_part(status=Status.RETIRED, type="cnc", amount=7)

    body = as_viewer.get("/api/parts/stats/").json()

    assert body["total"] == {"count": 6, "amount": 27}
    assert body["categories"] == {
        "review": {"count": 1, "amount": 2},
        "cnc": {"count": 2, "amount": 5},
        "hand": {"count": 1, "amount": 10},
        "misc": EMPTY,
        "completed": {"count": 1, "amount": 3},
        "retired": {"count": 1, "amount": 7},
    }
    assert body["statuses"]["in_progress"] == {"count": 1, "amount": 1}
    assert body["statuses"]["reviewed"] == {"count": 1, "amount": 4}


def test_it_counts_only_the_parts_the_filters_select(as_fabricator, fabricator):
    make_part(status=Status.IN_PROGRESS, amount=2, assignee=fabricator, subsystem="Intake")
    make_part(status=Status.IN_PROGRESS, amount=5, subsystem="Intake")
    make_part(status=Status.PENDING, amount=9, subsystem="Climber")

    mine = as_fabricator.get("/api/parts/stats/", {"assignee": "me"}).json()
    intake = as_fabricator.get("/api/parts/stats/", {"subsystem": "intake"}).json()

    assert mine["total"] == {"count": 1, "amount": 2}
    assert intake["total"] == {"count": 2, "amount": 7}
    assert intake["categories"]["review"] == EMPTY
