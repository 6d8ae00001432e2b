"""What each role may do to parts: every role against every read and write, through the API.

Moves between statuses are covered role by role in test_moves.py.
"""

import pytest
from rest_framework.test import APIClient

from parts.models import Part
from parts.tests.factories import make_part
from partsite.services import apikey_create

pytestmark = pytest.mark.django_db

ROLES = ["lead", "fabricator", "viewer", "roleless", "anonymous"]
READS = ["list", "read", "events", "stats"]
# What each role gets back; 401 means "who are you?", 403 "you may not".
EXPECTED = {
    "lead": {"read": 200, "create": 201, "edit": 200, "delete": 204},
    "fabricator": {"read": 200, "create": 201, "edit": 200, "delete": 403},
    "viewer": {"read": 200, "create": 403, "edit": 403, "delete": 403},
    "roleless": {"read": 403, "create": 403, "edit": 403, "delete": 403},
    "anonymous": {"read": 401, "create": 401, "edit": 401, "delete": 401},
}


@pytest.fixture
def as_role(request, roleless):
    def client(role):
        if role == "anonymous":
            return request.getfixturevalue("anonymous")
        if role == "roleless":
            _, key = apikey_create(user=roleless)
            roleless_client = APIClient()
            roleless_client.credentials(HTTP_X_API_KEY=key)
            return roleless_client
        return request.getfixturevalue(f"as_{role}")

    return client


def read(client, part, what):
    url = {
        "list": "/api/parts/",
        "read": f"/api/parts/{part.pk}/",
        "events": f"/api/parts/{part.pk}/events/",
        "stats": "/api/parts/stats/",
    }[what]
    return client.get(url)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("what", READS)
def test_who_may_read_parts(as_role, role, what):
    part = make_part(name="Secret sprocket")

    response = read(as_role(role), part, what)

    assert response.status_code == EXPECTED[role]["read"]
    if response.status_code != 200:
        assert b"Secret sprocket" not in response.content
        assert response.json()["detail"]


@pytest.mark.parametrize("role", ROLES)
def test_who_may_create_parts(as_role, role):
    response = as_role(role).post("/api/parts/", {"name": "Gusset"}, format="json")

    assert response.status_code == EXPECTED[role]["create"]
    assert Part.objects.filter(name="Gusset").exists() == (response.status_code == 201)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_edit_parts(as_role, role):
    part = make_part(name="Bracket")

    response = as_role(role).patch(f"/api/parts/{part.pk}/", {"name": "Renamed"}, format="json")

    assert response.status_code == EXPECTED[role]["edit"]
    part.refresh_from_db()
    assert part.name == ("Renamed" if response.status_code == 200 else "Bracket")


@pytest.mark.parametrize("role", ROLES)
def test_who_may_delete_parts(as_role, role):
    part = make_part()

    response = as_role(role).delete(f"/api/parts/{part.pk}/")

    assert response.status_code == EXPECTED[role]["delete"]
    assert Part.objects.filter(pk=part.pk).exists() == (response.status_code != 204)


@pytest.mark.parametrize(
    "role,method,message",
    [
        ("viewer", "post", "Your role may not change parts."),
        ("viewer", "patch", "Your role may not change parts."),
        ("fabricator", "delete", "Your role may not delete parts."),
        ("roleless", "get", "Your account has no role in Partsite; ask a lead to give you one."),
    ],
)
def test_a_refusal_says_why(as_role, role, method, message):
    part = make_part()
    url = "/api/parts/" if method == "post" else f"/api/parts/{part.pk}/"

    response = getattr(as_role(role), method)(url, {"name": "x"}, format="json")

    assert response.json() == {"detail": message}


def test_a_refused_write_does_not_reveal_whether_the_part_exists(as_viewer):
    response = as_viewer.patch("/api/parts/999999/", {"name": "x"}, format="json")

    assert response.status_code == 403
