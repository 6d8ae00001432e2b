"""audit.selectors.part_history: one chronological story of a part from four records."""

from datetime import datetime, timedelta, timezone

from auditlog.models import LogEntry

from audit.models import FileAccess
from audit.selectors import part_history
from files.models import Revision
from files.tests.helpers import approve_by_name, post_file
from files.tests.samples import box_step
from parts.models import Part, PartEvent
from parts.tests.factories import make_part

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_the_history_merges_moves_uploads_edits_and_accesses_in_time_order(as_lead, as_fabricator, as_viewer):
    part = Part.objects.get(pk=as_fabricator.post("/api/parts/", {"name": "Bracket"}, format="json").json()["id"])
    revision = post_file(as_fabricator, part, box_step(), "bracket.step").json()
    as_fabricator.patch(f"/api/parts/{part.pk}/", {"material": "Brass"}, format="json")
    approve_by_name(as_lead, part)
    as_viewer.get(f"/api/revisions/{revision['id']}/download/")
    # Each record gets a time of our choosing, out of the order the rows were written in.
    PartEvent.objects.filter(part=part, action="create").update(created_at=at(0))
    Revision.objects.filter(pk=revision["id"]).update(uploaded_at=at(5))
    LogEntry.objects.get_for_object(part).filter(changes__has_key="material").update(timestamp=at(20))
    PartEvent.objects.filter(part=part, action="approve").update(created_at=at(10))
    FileAccess.objects.filter(part=part).update(at=at(30))

    history = part_history(part)

    assert [(entry.at, entry.kind, entry.action, entry.actor) for entry in history] == [
        (at(0), "event", "create", "bob"),
        (at(5), "revision", "upload", "bob"),
        (at(10), "event", "approve", "alice"),
        (at(20), "change", "update", "bob"),
        (at(30), "access", "download", "carol"),
    ]
    assert history[1].summary == "Uploaded R1 bracket.step"
    assert history[1].details["sha256"] == revision["sha256"]
    assert history[2].summary == "Approve: in review → approved. Approved R1 bracket.step"
    assert history[3].summary == "Changed material from “” to “Brass”"
    assert history[3].details == {"changes": {"material": ["", "Brass"]}}
    assert history[4].summary.startswith("Downloaded the file: ")


def test_the_same_instant_orders_moves_then_files_then_edits_then_accesses(lead):
    part = make_part()
    PartEvent.objects.create(part=part, action="approve", from_status="pending", to_status="reviewed", actor=lead,
                             created_at=at(0))
    FileAccess.objects.create(access="download", user=lead, part=part, what="x", at=at(0))

    assert [entry.kind for entry in part_history(part)] == ["event", "access"]


def test_a_moves_own_field_changes_are_told_by_its_event_alone(as_lead, as_fabricator):
    part = make_part()
    post_file(as_fabricator, part, box_step())

    approve_by_name(as_lead, part)
    as_fabricator.post(f"/api/parts/{part.pk}/claim/")
    as_fabricator.post(f"/api/parts/{part.pk}/complete/", {"storage_location": "Shelf B"}, format="json")

    kinds = [(entry.kind, entry.action) for entry in part_history(part)]
    assert ("change", "update") not in kinds
    assert [action for kind, action in kinds if kind == "event"] == ["approve", "claim", "complete"]


def test_a_deleted_revision_keeps_its_upload_and_shows_its_deletion(as_lead, as_fabricator):
    part = make_part()
    doomed = post_file(as_fabricator, part, box_step(), "doomed.step").json()
    post_file(as_fabricator, part, box_step(20, 20, 20), "kept.step")
    other_part = make_part()
    post_file(as_fabricator, other_part, box_step(30, 30, 30), "elsewhere.step")
    as_lead.delete(f"/api/revisions/{doomed['id']}/")

    revisions = [(entry.action, entry.actor, entry.summary) for entry in part_history(part) if entry.kind == "revision"]

    assert ("upload", "bob", "Uploaded R1 doomed.step (since deleted)") in revisions
    assert ("delete", "alice", "Deleted R1 doomed.step") in revisions
    assert ("upload", "bob", "Uploaded R2 kept.step") in revisions
    assert len(revisions) == 3


def test_a_part_with_nothing_recorded_has_an_empty_history(db):
    assert part_history(make_part()) == []
