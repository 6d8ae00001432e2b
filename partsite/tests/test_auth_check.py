"""GET /api/auth/check/: who am I, and with which role."""

import pytest
from rest_framework.test import APIClient

from partsite.services import apikey_create

pytestmark = pytest.mark.django_db
URL = "/api/auth/check/"


@pytest.mark.parametrize(
    "client_fixture,username,role",
    [("as_lead", "alice", "lead"), ("as_fabricator", "bob", "fabricator"), ("as_viewer", "carol", "viewer")],
)
def test_it_names_the_user_and_role_behind_a_key(request, client_fixture, username, role):
    response = request.getfixturevalue(client_fixture).get(URL)

    assert response.status_code == 200
    assert response.json() == {"username": username, "role": role, "authenticated_by": "api_key"}


def test_it_tells_a_user_without_a_role_that_they_have_none(roleless):
    _, key = apikey_create(user=roleless)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    response = client.get(URL)

    assert response.json() == {"username": "eve", "role": None, "authenticated_by": "api_key"}


def test_it_works_with_a_session_login(lead):
    client = APIClient()
    client.force_login(lead)

    assert client.get(URL).json() == {"username": "alice", "role": "lead", "authenticated_by": "session"}


def test_a_superuser_counts_as_a_lead(django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="root-secret-pw")
    client = APIClient()
    client.force_login(admin)

    assert client.get(URL).json()["role"] == "lead"


def test_it_is_401_without_credentials(anonymous):
    assert anonymous.get(URL).status_code == 401
