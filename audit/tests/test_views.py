"""The leads' audit page at /audit/."""

from datetime import datetime, timezone

import pytest
from django.test import Client

from audit.models import AuthEvent


@pytest.fixture
def page_as(db):
    def page_as(user, **params):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.get("/audit/", params)

    return page_as


def test_only_leads_may_open_the_audit_page(page_as, lead, fabricator, viewer, roleless):
    assert page_as(lead).status_code == 200
    assert [page_as(user).status_code for user in (fabricator, viewer, roleless)] == [403, 403, 403]
    refused = page_as(fabricator).content.decode()
    assert "Only leads may read the audit trail." in refused and 'href="/"' in refused


def test_without_signing_in_the_page_sends_you_to_sign_in(page_as):
    response = page_as(None)

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_page_lists_and_filters_the_feed_and_links_the_same_filter_as_csv(page_as, lead):
    AuthEvent.objects.create(event="login_failed", username="mallory", detail="wrong username or password",
                             at=datetime(2026, 2, 1, tzinfo=timezone.utc))

    html = page_as(lead, actor="mallory").content.decode()

    assert "mallory" in html and "wrong username or password" in html
    assert "1 entry" in html
    assert '<input type="text" name="actor" value="mallory"' in html
    assert 'href="/api/audit/export/?actor=mallory"' in html
    assert "mallory" not in page_as(lead, actor="alice").content.decode()


def test_the_page_shows_a_changes_fields(page_as, lead, as_lead):
    part = as_lead.post("/api/parts/", {"name": "Bracket", "material": "Steel"}, format="json").json()
    as_lead.patch(f"/api/parts/{part['id']}/", {"material": "Brass"}, format="json")

    html = page_as(lead, object_type="part", object_id=part["id"], action="update").content.decode()

    assert "material: Steel → Brass" in html


def test_a_bad_filter_is_named_and_everything_shown_instead(page_as, lead):
    html = page_as(lead, since="last tuesday").content.decode()

    assert 'role="alert"' in html and "since" in html


def test_the_page_is_paginated(page_as, lead):
    for minute in range(55):
        AuthEvent.objects.create(event="login", username="pat", detail="signed in",
                                 at=datetime(2026, 2, 1, 0, minute, tzinfo=timezone.utc))

    first = page_as(lead, actor="pat").content.decode()
    second = page_as(lead, actor="pat", page=2).content.decode()

    assert "Page 1 of 2" in first and 'href="?actor=pat&amp;page=2"' in first
    assert "Page 2 of 2" in second and second.count("<tr>") == 1 + 5


def test_the_csv_link_works_with_the_pages_sign_in(lead):
    client = Client()
    client.force_login(lead)

    response = client.get("/api/audit/export/", {"actor": "alice"})

    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().splitlines()[0].startswith("at,kind,action,actor")
