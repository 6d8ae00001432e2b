"""Who can be given a part: leads and fabricators, and nobody else, asked anywhere.

A superuser acts as a lead everywhere, but one in no group is an administrator's account, not
someone who makes parts: the API refuses them as an assignee and no list offers them. A
superuser in the lead group is a lead like any other."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import Client

from partsite.roles import Role, role_group
from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

ASSIGNABLE = ["alice", "bob", "boss"]
NOT_ASSIGNABLE = ["carol", "eve", "root", "gone"]


@pytest.fixture
def everyone(lead, fabricator, viewer, roleless):
    users = get_user_model().objects
    users.create_superuser("root", password="root-secret-pw")
    users.create_superuser("boss", password="boss-secret-pw").groups.add(role_group(Role.LEAD))
    gone = users.create_user("gone", password="gone-secret-pw", is_active=False)
    gone.groups.add(role_group(Role.FABRICATOR))


def page_of(user):
    client = Client()
    client.force_login(user)
    return client


def options(html, name):
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


@pytest.mark.parametrize("username", ASSIGNABLE)
def test_the_api_assigns_leads_and_fabricators(everyone, as_lead, username):
    part = make_part(status=Status.REVIEWED)

    response = as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": username}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"] == username


@pytest.mark.parametrize("username", NOT_ASSIGNABLE)
def test_the_api_refuses_anyone_else_and_says_why(everyone, as_lead, username):
    part = make_part(status=Status.REVIEWED)

    response = as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": username}, format="json")

    assert response.status_code == 400
    [problem] = response.json()["assignee"]
    assert problem == (
        "No active user named gone." if username == "gone"
        else f"{username} is not a fabricator or lead and cannot be assigned parts."
    )
    part.refresh_from_db()
    assert (part.status, part.assignee) == (Status.REVIEWED, None)


def test_the_part_page_offers_exactly_the_people_who_can_be_assigned(everyone, lead):
    part = make_part(status=Status.REVIEWED)

    html = page_of(lead).get(f"/parts/{part.pk}/").content.decode()

    assert options(html, "assignee") == ASSIGNABLE


def test_the_part_page_refuses_a_superuser_without_a_role_with_a_message(everyone, lead):
    part = make_part(status=Status.REVIEWED)

    response = page_of(lead).post(f"/parts/{part.pk}/move/assign/", {"assignee": "root"}, follow=True)

    assert "root is not a fabricator or lead and cannot be assigned parts." in response.content.decode()
    part.refresh_from_db()
    assert part.assignee is None


def test_the_board_filters_by_exactly_the_people_who_can_be_assigned(everyone, viewer):
    html = page_of(viewer).get("/").content.decode()

    assert options(html, "assignee") == ["me", *ASSIGNABLE]


def test_the_admin_offers_exactly_the_people_who_can_be_assigned(everyone, lead):
    part = make_part(status=Status.REVIEWED)

    html = page_of(lead).post(
        "/admin/parts/part/", {"action": "assign", ACTION_CHECKBOX_NAME: [part.pk]}
    ).content.decode()

    users = get_user_model().objects
    assert options(html, "assignee") == [str(users.get(username=name).pk) for name in ASSIGNABLE]


def test_the_admin_will_not_assign_a_superuser_without_a_role(everyone, lead):
    part = make_part(status=Status.REVIEWED)
    root = get_user_model().objects.get(username="root")

    response = page_of(lead).post(
        "/admin/parts/part/", {"action": "assign", ACTION_CHECKBOX_NAME: [part.pk], "apply": "1", "assignee": root.pk}
    )

    assert response.status_code == 200
    assert b"Select a valid choice." in response.content
    part.refresh_from_db()
    assert part.assignee is None
