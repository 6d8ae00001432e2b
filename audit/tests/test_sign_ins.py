"""Every sign-in, failed sign-in and refused API key leaves a record, on every login form."""

import pytest
from django.test import Client

from audit.models import AuthEvent
from partsite.services import apikey_create, apikey_revoke

LOGIN_PAGES = ["/admin/login/", "/api-auth/login/"]


def sign_in(page, username, password):
    return Client(REMOTE_ADDR="192.0.2.10").post(page, {"username": username, "password": password})


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_sign_in_is_recorded_with_who_where_and_from_where(lead, page):
    sign_in(page, "alice", "alice-secret-pw")

    event = AuthEvent.objects.get()
    assert (event.event, event.user, event.username) == ("login", lead, "alice")
    assert event.detail == f"signed in at {page}"
    assert event.client_address == "192.0.2.10"


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_wrong_password_is_recorded_against_the_name_typed_and_never_the_password(lead, page):
    sign_in(page, "alice", "not-her-password")

    event = AuthEvent.objects.get()
    assert (event.event, event.user, event.username) == ("login_failed", lead, "alice")
    assert "not-her-password" not in f"{event.detail} {event.username}"


def test_a_sign_in_as_nobody_is_recorded_with_the_name_typed(db):
    sign_in("/admin/login/", "mallory", "guess")

    event = AuthEvent.objects.get()
    assert (event.event, event.user, event.username) == ("login_failed", None, "mallory")


def test_an_unknown_api_key_is_recorded_without_the_key(db, anonymous):
    key = "ps_0123456789abcdef.not-a-real-secret-at-all"

    assert anonymous.get("/api/parts/", HTTP_X_API_KEY=key).status_code == 401

    event = AuthEvent.objects.get()
    assert (event.event, event.user, event.username) == ("key_refused", None, "")
    assert event.detail == "an unknown API key at /api/parts/"
    assert "0123456789abcdef" not in event.detail and "not-a-real-secret" not in event.detail


def test_a_revoked_key_is_recorded_against_its_owner_by_its_public_lookup(anonymous, viewer):
    api_key, key = apikey_create(user=viewer)
    apikey_revoke(api_key=api_key)

    anonymous.get("/api/parts/", HTTP_X_API_KEY=key)

    event = AuthEvent.objects.get()
    assert (event.event, event.user, event.username) == ("key_refused", viewer, "carol")
    assert event.detail == f"a revoked API key (ps_{api_key.lookup}…) at /api/parts/"
    assert key.split(".", 1)[1] not in event.detail


def test_a_real_lookup_with_a_wrong_secret_is_recorded(anonymous, viewer):
    api_key, key = apikey_create(user=viewer)

    anonymous.get("/api/parts/", HTTP_X_API_KEY=key + "x")

    assert AuthEvent.objects.get().detail.startswith("an API key with a wrong secret")


def test_the_key_of_a_deactivated_user_is_recorded(anonymous, viewer):
    _, key = apikey_create(user=viewer)
    viewer.is_active = False
    viewer.save()

    anonymous.get("/api/parts/", HTTP_X_API_KEY=key)

    assert AuthEvent.objects.get().detail.startswith("the API key of a deactivated user")


def test_a_key_in_the_url_is_recorded_without_the_key(anonymous, viewer):
    _, key = apikey_create(user=viewer)

    anonymous.get(f"/api/parts/?api_key={key}")

    event = AuthEvent.objects.get()
    assert event.event == "key_refused"
    assert event.detail == "an API key in the URL at /api/parts/"


def test_a_good_key_leaves_no_sign_in_record(as_viewer):
    as_viewer.get("/api/parts/")

    assert not AuthEvent.objects.exists()
