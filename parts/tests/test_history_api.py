"""GET /api/parts/{id}/history/: the part's merged history, for every role that may read parts."""

from datetime import datetime, timezone

import pytest

from conftest import client_for
from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts.models import Part, PartEvent
from parts.tests.factories import make_part


def test_every_role_may_read_a_parts_history(as_lead, as_fabricator, as_viewer, roleless, anonymous):
    url = f"/api/parts/{make_part().pk}/history/"

    assert [client.get(url).status_code for client in (as_lead, as_fabricator, as_viewer)] == [200, 200, 200]
    assert client_for(roleless).get(url).status_code == 403
    assert anonymous.get(url).status_code == 401


def test_an_unknown_part_has_no_history(as_viewer):
    assert as_viewer.get("/api/parts/999999/history/").status_code == 404


def test_the_history_lists_each_entry_oldest_first_with_who_and_what(as_fabricator, as_viewer):
    part = as_fabricator.post("/api/parts/", {"name": "Bracket"}, format="json").json()
    post_file(as_fabricator, make_part(), box_step())  # another part's upload is not in this history
    revision = post_file(as_fabricator, Part.objects.get(pk=part["id"]), box_step(), "bracket.step").json()
    as_viewer.get(f"/api/revisions/{revision['id']}/download/")
    PartEvent.objects.filter(part_id=part["id"]).update(created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))

    history = as_viewer.get(f"/api/parts/{part['id']}/history/").json()

    assert [(entry["kind"], entry["action"], entry["actor"]) for entry in history] == [
        ("event", "create", "bob"), ("revision", "upload", "bob"), ("access", "download", "carol"),
    ]
    assert history[0]["at"] == "2026-01-01T00:00:00Z"
    assert history[1]["summary"] == "Uploaded R1 bracket.step"
    assert history[1]["details"]["revision"] == revision["id"]
    assert "client_address" not in history[2]["details"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_history_cannot_be_written(as_lead, method):
    assert getattr(as_lead, method)(f"/api/parts/{make_part().pk}/history/").status_code == 405
