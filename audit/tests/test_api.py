"""GET /api/audit/ and /api/audit/export/: the leads' feed of changes, file accesses and sign-ins."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuthEvent, FileAccess
from conftest import client_for
from files.conversion import revision_convert
from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step
from parts.models import Part
from parts.tests.factories import make_part

FEED = "/api/audit/"
EXPORT = "/api/audit/export/"


def feed(client, **params):
    response = client.get(FEED, params)
    assert response.status_code == 200, response.content
    return response.json()


def csv_rows(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("url", [FEED, EXPORT])
def test_only_leads_may_read_the_audit(url, as_lead, as_fabricator, as_viewer, roleless, anonymous):
    assert as_lead.get(url).status_code == 200
    assert as_fabricator.get(url).status_code == 403
    assert as_viewer.get(url).status_code == 403
    assert client_for(roleless).get(url).status_code == 403
    assert anonymous.get(url).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nothing_in_the_audit_can_be_written_through_the_api(as_lead, method):
    entry = LogEntry.objects.first()

    assert getattr(as_lead, method)(FEED).status_code == 405
    assert getattr(as_lead, method)(f"{FEED}{entry.pk}/").status_code == 404
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_every_action_leaves_its_record_in_the_feed(as_lead, as_fabricator, as_viewer,
                                                  django_capture_on_commit_callbacks):
    created = as_fabricator.post("/api/parts/", {"name": "Bracket", "material": "Steel"}, format="json").json()
    as_fabricator.patch(f"/api/parts/{created['id']}/", {"material": "Brass"}, format="json")
    with django_capture_on_commit_callbacks(execute=False):
        revision = post_file(as_fabricator, make_part(), box_step(), "gusset.step").json()
    revision_convert(revision["id"])
    spare = post_file(as_fabricator, make_part(), box_step(30, 30, 30), "spare.step").json()
    fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")
    fetch(as_viewer, f"/api/revisions/{revision['id']}/model/")
    as_lead.delete(f"/api/revisions/{spare['id']}/")
    Client().post("/admin/login/", {"username": "alice", "password": "alice-secret-pw"})
    Client().post("/admin/login/", {"username": "alice", "password": "wrong"})
    APIClient().get("/api/parts/", HTTP_X_API_KEY="ps_0123456789abcdef.wrong")

    rows = feed(as_lead, limit=200)["results"]

    def recorded(kind, action, actor, object_type):
        return any(
            (row["kind"], row["action"], row["actor"], row["object_type"]) == (kind, action, actor, object_type)
            for row in rows
        )

    assert recorded("change", "create", "bob", "part")
    assert recorded("change", "update", "bob", "part")
    assert recorded("change", "create", "bob", "revision")
    assert recorded("change", "delete", "alice", "revision")
    assert recorded("file", "download", "carol", "revision")
    assert recorded("file", "model", "carol", "revision")
    assert recorded("sign_in", "login", "alice", "user")
    assert recorded("sign_in", "login_failed", "alice", "user")
    assert recorded("sign_in", "key_refused", "", "user")
    update = next(row for row in rows if row["action"] == "update" and row["object_type"] == "part")
    assert update["changes"]["material"] == ["Steel", "Brass"]
    assert update["object_id"] == str(created["id"])
    assert update["id"].startswith("change-")


@pytest.fixture
def timeline(lead, viewer, as_fabricator):
    """One entry of each kind at known times: a change at 10:00, a download at 11:00, a sign-in at 12:00."""
    part = make_part()
    revision = post_file(as_fabricator, part, box_step()).json()
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    change = LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Part),
        object_pk=str(part.pk), object_repr=str(part), action=LogEntry.Action.UPDATE,
        changes={"name": ["Bracket", "Bracket v2"]}, actor=lead, timestamp=day + timedelta(hours=10),
    )
    access = FileAccess.objects.create(
        access="download", user=viewer, revision_id=revision["id"], part=part, what="a file",
        at=day + timedelta(hours=11),
    )
    sign_in = AuthEvent.objects.create(
        event="login", user=viewer, username="carol", detail="signed in", at=day + timedelta(hours=12),
    )
    return {"day": day, "change": change, "access": access, "sign_in": sign_in, "revision": revision, "part": part}


def test_the_feed_is_newest_first_across_kinds_and_filters_by_time(as_lead, timeline):
    day = timeline["day"]

    rows = feed(as_lead, since=day.isoformat(), until=(day + timedelta(days=1)).isoformat())["results"]

    assert [(row["kind"], row["at"]) for row in rows] == [
        ("sign_in", "2026-03-01T12:00:00Z"), ("file", "2026-03-01T11:00:00Z"), ("change", "2026-03-01T10:00:00Z"),
    ]
    until_eleven = feed(as_lead, since=day.isoformat(), until=(day + timedelta(hours=11)).isoformat())["results"]
    assert [row["kind"] for row in until_eleven] == ["file", "change"]


def test_the_feed_filters_by_actor_in_any_case(as_lead, timeline):
    rows = feed(as_lead, actor="CAROL", since=timeline["day"].isoformat())["results"]

    assert {row["kind"] for row in rows} == {"file", "sign_in"}
    assert {row["actor"] for row in rows} == {"carol"}


def test_the_feed_filters_by_one_or_more_actions(as_lead, timeline):
    since = timeline["day"].isoformat()

    assert [row["action"] for row in feed(as_lead, action="download", since=since)["results"]] == ["download"]
    both = feed(as_lead, action=["download", "login"], since=since, until="2026-03-02T00:00:00Z")["results"]
    assert [row["action"] for row in both] == ["login", "download"]


def test_the_feed_filters_by_object_type_and_id(as_lead, timeline):
    part, revision = timeline["part"], timeline["revision"]

    about_part = feed(as_lead, object_type="part", object_id=part.pk)["results"]
    about_revision = feed(as_lead, object_type="revision", object_id=revision["id"])["results"]

    assert {(row["kind"], row["object_id"]) for row in about_part} == {("change", str(part.pk))}
    assert {(row["kind"], row["action"]) for row in about_revision} == {("change", "create"), ("file", "download")}


def test_the_feed_is_paginated(as_lead, timeline):
    since = timeline["day"].isoformat()

    first = feed(as_lead, since=since, until="2026-03-02T00:00:00Z", limit=2)
    second = as_lead.get(first["next"]).json()

    assert first["count"] == 3
    assert [row["kind"] for row in first["results"] + second["results"]] == ["sign_in", "file", "change"]
    assert second["next"] is None


@pytest.mark.parametrize("params, field", [
    ({"since": "yesterday"}, "since"),
    ({"action": "explode"}, "action"),
    ({"object_type": "planet"}, "object_type"),
    ({"object_id": "abc"}, "object_id"),
])
def test_a_bad_filter_is_a_400_naming_it(as_lead, params, field):
    response = as_lead.get(FEED, params)

    assert response.status_code == 400
    assert field in response.json()


def test_the_csv_export_streams_the_same_filtered_feed(as_lead, timeline):
    response = as_lead.get(EXPORT, {"since": timeline["day"].isoformat(), "until": "2026-03-02T00:00:00Z"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="partsite-audit-')
    rows = csv_rows(response)
    assert [(row["kind"], row["action"], row["actor"]) for row in rows] == [
        ("sign_in", "login", "carol"), ("file", "download", "carol"), ("change", "update", "alice"),
    ]
    assert rows[2]["changes"] == '{"name": ["Bracket", "Bracket v2"]}'
    assert rows[2]["at"] == "2026-03-01T10:00:00+00:00"


def test_the_csv_export_answers_a_client_that_asks_for_csv(as_lead):
    assert as_lead.get(EXPORT, HTTP_ACCEPT="text/csv").status_code == 200


def test_a_name_typed_to_run_a_formula_is_exported_as_text(as_lead):
    Client().post("/admin/login/", {"username": "=HYPERLINK(\"http://evil\")", "password": "x"})

    rows = csv_rows(as_lead.get(EXPORT, {"action": "login_failed"}))

    assert rows[0]["actor"] == "'=HYPERLINK(\"http://evil\")"
