"""The people and keys in the admin: leads give roles (through the role service, so leads are
staff), make keys (shown once) and revoke them; the admin reads as Partsite."""

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


def test_a_lead_makes_a_key_that_is_shown_once_and_works(admin_client, fabricator):
    response = admin_client.post(f"{KEYS}add/", {"user": fabricator.pk, "name": "CNC laptop"})

    assert response.status_code == 200
    key = response.content.decode().split('<code class="new-api-key">')[1].split("</code>")[0]
    api_key = ApiKey.objects.get()
    assert (api_key.user, api_key.name, api_key.matches(key)) == (fabricator, "CNC laptop", True)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    assert client.get("/api/parts/").status_code == 200
    assert key.split(".", 1)[1] not in admin_client.get(f"{KEYS}{api_key.pk}/change/").content.decode()


def test_a_key_page_is_read_only_without_save_buttons(admin_client, fabricator):
    api_key, _ = apikey_create(user=fabricator, name="laptop")

    html = admin_client.get(f"{KEYS}{api_key.pk}/change/").content.decode()

    assert 'name="_save"' not in html
    admin_client.post(f"{KEYS}{api_key.pk}/change/", {"name": "renamed"})
    api_key.refresh_from_db()
    assert api_key.name == "laptop"


@pytest.mark.parametrize("role", ["fabricator", "viewer", "roleless"])
def test_only_leads_make_keys_or_change_roles(client, request, role, viewer):
    client.force_login(request.getfixturevalue(role))

    made = client.post(f"{KEYS}add/", {"user": viewer.pk, "name": "mine"})
    promoted = client.post(f"/admin/auth/user/{viewer.pk}/change/", {"role": "lead"})

    assert made["Location"].startswith("/admin/login/") and promoted["Location"].startswith("/admin/login/")
    assert not ApiKey.objects.exists()
    viewer.refresh_from_db()
    assert not viewer.is_staff


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(f"{KEYS}add/")["Location"].startswith("/admin/login/")


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


# Roles in the user admin


def user_form(user, role):
    return {"username": user.username, "role": role, "is_active": "on", "first_name": "", "last_name": "",
            "email": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}


def test_giving_someone_the_lead_role_makes_them_staff_so_they_reach_the_admin(admin_client, client, viewer):
    from django.test import Client

    response = admin_client.post(f"/admin/auth/user/{viewer.pk}/change/", user_form(viewer, "lead"))

    assert response.status_code == 302, response.content.decode()[:2000]
    viewer.refresh_from_db()
    assert viewer.is_staff
    assert list(viewer.groups.values_list("name", flat=True)) == ["lead"]
    newcomer = Client()
    newcomer.force_login(viewer)
    assert newcomer.get("/admin/parts/part/").status_code == 200


def test_taking_the_lead_role_away_takes_the_admin_away(admin_client, lead, other_fabricator):
    from partsite.services import user_set_role

    user_set_role(user=other_fabricator, role="lead")

    admin_client.post(f"/admin/auth/user/{other_fabricator.pk}/change/", user_form(other_fabricator, "viewer"))

    other_fabricator.refresh_from_db()
    assert not other_fabricator.is_staff
    assert list(other_fabricator.groups.values_list("name", flat=True)) == ["viewer"]


def test_no_role_leaves_no_role_group(admin_client, fabricator):
    admin_client.post(f"/admin/auth/user/{fabricator.pk}/change/", user_form(fabricator, ""))

    fabricator.refresh_from_db()
    assert (fabricator.is_staff, fabricator.groups.count()) == (False, 0)


def test_the_user_page_shows_the_role_and_not_the_groups(admin_client, fabricator):
    html = admin_client.get(f"/admin/auth/user/{fabricator.pk}/change/").content.decode()

    assert '<option value="fabricator" selected>Fabricator</option>' in html
    assert 'name="groups"' not in html


def test_a_person_added_in_the_admin_gets_their_role(admin_client):
    from django.contrib.auth import get_user_model

    admin_client.post("/admin/auth/user/add/", {
        "username": "dana", "usable_password": "false", "password1": "", "password2": "", "role": "lead",
    })

    dana = get_user_model().objects.get(username="dana")
    assert dana.is_staff and list(dana.groups.values_list("name", flat=True)) == ["lead"]


# The admin reads as Partsite


def test_the_admin_is_partsites(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "<title>Review, assign and keep the record | Partsite admin</title>" in html
    assert '<a href="/admin/">Partsite</a>' in html
    assert "Django administration" not in html
    assert 'rel="icon" href="/static/partsite/favicon.svg"' in html
    assert "File accesses" in html and "File accesss" not in html
