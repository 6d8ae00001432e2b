"""manage.py createuser USERNAME --role ROLE [--password P]"""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from partsite.roles import role_of

pytestmark = pytest.mark.django_db
User = get_user_model()


def createuser(*args):
    out = StringIO()
    call_command("createuser", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("role", ["lead", "fabricator", "viewer"])
def test_it_creates_a_user_in_the_role(role):
    output = createuser("frank", "--role", role, "--password", "a-long-passphrase")

    user = User.objects.get(username="frank")
    assert role_of(user) == role
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert output.strip() == f"Created {role} frank."


def test_the_password_lets_the_user_log_in():
    createuser("frank", "--role", "viewer", "--password", "a-long-passphrase")

    assert authenticate(username="frank", password="a-long-passphrase") is not None
    assert authenticate(username="frank", password="wrong") is None


def test_without_a_password_the_user_cannot_log_in():
    createuser("frank", "--role", "fabricator")

    assert not User.objects.get(username="frank").has_usable_password()


@pytest.mark.parametrize("role,is_staff", [("lead", True), ("fabricator", False), ("viewer", False)])
def test_only_leads_may_use_the_admin(role, is_staff):
    createuser("frank", "--role", role)

    assert User.objects.get(username="frank").is_staff is is_staff


def test_it_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="invalid choice: 'admin'"):
        createuser("frank", "--role", "admin")

    assert not User.objects.filter(username="frank").exists()


def test_it_requires_a_role():
    with pytest.raises(CommandError, match="--role"):
        createuser("frank")


@pytest.mark.parametrize("username", ["bob", "BOB"])
def test_it_refuses_a_username_that_is_taken(fabricator, username):
    with pytest.raises(CommandError, match="already exists"):
        createuser(username, "--role", "viewer")

    assert role_of(User.objects.get(username="bob")) == "fabricator"


@pytest.mark.parametrize("username", ["frank smith", "frank/1", ""])
def test_it_refuses_a_username_django_would_not_accept(username):
    with pytest.raises(CommandError, match="not a valid username"):
        createuser(username, "--role", "viewer")

    assert not User.objects.exists()


@pytest.mark.parametrize("password,problem", [("abc", "too short"), ("password", "too common")])
def test_it_refuses_a_weak_password(password, problem):
    with pytest.raises(CommandError, match=problem):
        createuser("frank", "--role", "viewer", "--password", password)

    assert not User.objects.filter(username="frank").exists()


def test_role_none_makes_a_user_who_may_sign_in_but_do_nothing_yet(client):
    output = createuser("frank", "--role", "none", "--password", "a-long-passphrase")

    user = User.objects.get(username="frank")
    assert role_of(user) is None
    assert not user.groups.exists() and not user.is_staff
    assert output.strip() == "Created frank, with no role yet: a lead gives one in the admin (Users)."
    assert client.login(username="frank", password="a-long-passphrase")
    assert client.get("/api/parts/").status_code == 403
