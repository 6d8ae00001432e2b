"""The API key admin: leads review and revoke keys; the secret is never shown."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from rest_framework.test import APIClient

from partsite.models import ApiKey
from partsite.services import apikey_create

pytestmark = pytest.mark.django_db
KEYS = "/admin/partsite/apikey/"


@pytest.fixture
def admin_client(client, lead):
    client.force_login(lead)
    return client


def test_a_lead_sees_keys_without_their_secret(admin_client, fabricator):
    api_key, key = apikey_create(user=fabricator, name="laptop")

    listing = admin_client.get(KEYS).content.decode()
    page = admin_client.get(f"{KEYS}{api_key.pk}/change/").content.decode()

    assert "laptop" in listing
    for html in (listing, page):
        assert key.split(".", 1)[1] not in html
        assert api_key.hashed_key not in html


def test_keys_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(f"{KEYS}add/").status_code == 403


def test_a_lead_can_revoke_keys_in_bulk(admin_client, fabricator):
    _, key = apikey_create(user=fabricator)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    assert client.get("/api/parts/").status_code == 200

    admin_client.post(KEYS, {"action": "revoke", ACTION_CHECKBOX_NAME: [k.pk for k in ApiKey.objects.all()]})

    assert ApiKey.objects.get().is_revoked
    assert client.get("/api/parts/").status_code == 401


def test_a_lead_sees_a_lockout_and_lifts_it(admin_client, fabricator, settings):
    from axes.models import AccessAttempt

    settings.AUTH_FAILURE_LIMIT = 2
    for _ in range(2):
        APIClient().post("/login/", {"username": "bob", "password": "guess"})
    assert APIClient().post("/login/", {"username": "bob", "password": "bob-secret-pw"}).status_code == 429
    attempt = AccessAttempt.objects.get(username="bob")

    assert "bob" in admin_client.get("/admin/axes/accessattempt/").content.decode()
    admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert APIClient().post("/login/", {"username": "bob", "password": "bob-secret-pw"}).status_code == 302
