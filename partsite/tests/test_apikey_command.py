"""manage.py apikey create USERNAME | list [USERNAME] | revoke ID"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from partsite.models import ApiKey

pytestmark = pytest.mark.django_db


def apikey(*args):
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def created_key(username):
    return apikey("create", username).splitlines()[-1]


def check(key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client.get("/api/auth/check/")


def test_create_prints_a_working_key_as_the_last_line(fabricator):
    output = apikey("create", "bob", "--name", "laptop")

    key = output.splitlines()[-1]
    response = check(key)
    assert response.status_code == 200
    assert response.json()["username"] == "bob"
    assert "not shown again" in output


def test_the_key_is_printed_once_and_stored_only_as_a_hash(fabricator):
    key = created_key("bob")
    _, secret = key.split(".", 1)

    listing = apikey("list")

    assert secret not in listing
    stored = ApiKey.objects.get()
    assert secret not in str(stored.__dict__)
    assert stored.hashed_key != key


def test_each_key_is_different(fabricator):
    assert created_key("bob") != created_key("bob")


def test_create_names_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        apikey("create", "nobody")


def test_list_shows_each_key_with_owner_state_and_last_use(lead, fabricator):
    lead_key = created_key("alice")
    created_key("bob")
    check(lead_key)

    lines = apikey("list").splitlines()

    assert len(lines) == 2
    alice_line, bob_line = lines
    assert "alice" in alice_line and "active" in alice_line and "last used never" not in alice_line
    assert "bob" in bob_line and "last used never" in bob_line


def test_list_can_be_narrowed_to_one_user(lead, fabricator):
    created_key("alice")
    created_key("bob")

    lines = apikey("list", "bob").splitlines()

    assert len(lines) == 1
    assert "bob" in lines[0]


def test_list_says_when_there_are_no_keys(lead):
    assert apikey("list").strip() == "No API keys."
    assert apikey("list", "alice").strip() == "No API keys for alice."


def test_revoke_stops_the_key_and_list_says_so(fabricator):
    key = created_key("bob")
    key_id = ApiKey.objects.get().pk

    output = apikey("revoke", str(key_id))

    assert output.strip() == f"Revoked API key {key_id} of bob."
    assert check(key).status_code == 401
    assert "revoked" in apikey("list")


def test_revoke_leaves_the_users_other_keys_working(fabricator):
    kept = created_key("bob")
    created_key("bob")
    newest = ApiKey.objects.order_by("-pk").first()

    apikey("revoke", str(newest.pk))

    assert check(kept).status_code == 200


def test_revoking_twice_says_it_was_already_revoked(fabricator):
    created_key("bob")
    api_key = ApiKey.objects.get()
    apikey("revoke", str(api_key.pk))
    api_key.refresh_from_db()
    first_revoked_at = api_key.revoked_at

    output = apikey("revoke", str(api_key.pk))

    assert "was already revoked" in output
    api_key.refresh_from_db()
    assert api_key.revoked_at == first_revoked_at


def test_revoke_names_an_unknown_id():
    with pytest.raises(CommandError, match="No API key with id 4242"):
        apikey("revoke", "4242")


def test_revoke_refuses_an_id_that_is_not_a_number():
    with pytest.raises(CommandError, match="invalid int value"):
        apikey("revoke", "abc")
