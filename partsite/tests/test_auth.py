"""How clients prove who they are: API keys in a header, sessions, and the limits on failing."""

import logging

import pytest
from rest_framework.test import APIClient

from partsite.models import ApiKey
from partsite.services import apikey_create, apikey_revoke

pytestmark = pytest.mark.django_db

PARTS = "/api/parts/"


def with_key(key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


@pytest.fixture
def key(lead):
    _, key = apikey_create(user=lead)
    return key


def test_a_valid_key_in_the_header_lets_the_client_in(key):
    response = with_key(key).get(PARTS)

    assert response.status_code == 200


def test_it_answers_401_without_credentials(anonymous):
    response = anonymous.get(PARTS)

    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "X-API-Key"


@pytest.mark.parametrize(
    "bad_key",
    ["ps_0123456789abcdef.not-a-real-secret", "not-even-shaped-like-a-key", ""],
)
def test_it_answers_401_to_a_key_that_does_not_exist(lead, bad_key):
    response = with_key(bad_key).get(PARTS)

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."


def test_it_answers_401_to_a_real_lookup_with_a_wrong_secret(key):
    lookup_part, _ = key.split(".", 1)

    response = with_key(f"{lookup_part}.guessed-secret").get(PARTS)

    assert response.status_code == 401


def test_a_revoked_key_stops_working(lead, key):
    apikey_revoke(api_key=ApiKey.objects.get(user=lead))

    response = with_key(key).get(PARTS)

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."


def test_the_key_of_a_deactivated_user_stops_working(lead, key):
    lead.is_active = False
    lead.save()

    assert with_key(key).get(PARTS).status_code == 401


def test_the_key_acts_as_its_owner(as_fabricator):
    response = as_fabricator.post(PARTS, {"name": "Gusset"}, format="json")

    assert response.json()["created_by"] == "bob"


def test_using_a_key_records_when_it_was_last_used(lead, key):
    assert ApiKey.objects.get(user=lead).last_used_at is None

    with_key(key).get(PARTS)

    assert ApiKey.objects.get(user=lead).last_used_at is not None


def test_a_valid_key_with_a_wrong_role_is_403_not_401(roleless):
    _, key = apikey_create(user=roleless)

    response = with_key(key).get(PARTS)

    assert response.status_code == 403
    assert "no role" in response.json()["detail"]


@pytest.mark.parametrize("name", ["api_key", "apikey", "key", "token", "access_token", "X-API-Key", "API_KEY"])
def test_it_refuses_a_key_in_the_query_string(key, name):
    # Even with a valid header: the key in the URL has already leaked into logs and histories.
    response = with_key(key).get(PARTS, {name: key})

    assert response.status_code == 401
    assert "not accepted in the URL" in response.json()["detail"]


@pytest.mark.parametrize("query", ["search={key}", "{key}", "q=see%20{key}%20here"])
def test_it_refuses_a_key_in_the_query_string_under_any_parameter_name(key, query):
    response = APIClient().get(f"{PARTS}?{query.format(key=key)}")

    assert response.status_code == 401
    assert "not accepted in the URL" in response.json()["detail"]


def test_an_ordinary_query_string_is_not_mistaken_for_a_key(as_lead):
    response = as_lead.get(PARTS, {"search": "ps_bracket", "limit": 5})

    assert response.status_code == 200


def test_a_session_login_works_for_the_browsable_api(lead):
    client = APIClient()
    client.force_login(lead)

    response = client.get(PARTS, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"Part List" in response.content


def test_a_session_without_a_role_is_403(roleless):
    client = APIClient()
    client.force_login(roleless)

    assert client.get(PARTS).status_code == 403


class FakeClock:
    """Stands in for the time module in partsite.auth, so windows pass without waiting."""

    def __init__(self):
        self.now = 1_000_000.0

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr("partsite.auth.time", fake)
    return fake


@pytest.fixture
def failure_limit(settings):
    settings.AUTH_FAILURE_LIMIT = 3
    settings.AUTH_FAILURE_WINDOW_SECONDS = 60


def test_repeated_failed_authentication_is_answered_with_429(failure_limit, clock, lead):
    wrong = with_key("ps_0123456789abcdef.wrong")

    answers = [wrong.get(PARTS).status_code for _ in range(4)]

    assert answers == [401, 401, 401, 429]
    refused = wrong.get(PARTS)
    assert "Too many failed authentication attempts" in refused.json()["detail"]
    assert refused["Retry-After"] == "61"


def test_a_blocked_address_is_blocked_even_with_a_good_key(failure_limit, clock, key):
    for _ in range(3):
        APIClient().get(PARTS)

    assert with_key(key).get(PARTS).status_code == 429


def test_anonymous_probing_counts_as_failed_authentication(failure_limit, clock, anonymous):
    answers = [anonymous.get(PARTS).status_code for _ in range(4)]

    assert answers == [401, 401, 401, 429]


def test_the_block_lifts_when_the_window_has_passed(failure_limit, clock, key):
    for _ in range(3):
        APIClient().get(PARTS)
    assert with_key(key).get(PARTS).status_code == 429

    clock.now += 61

    assert with_key(key).get(PARTS).status_code == 200


def test_another_address_is_not_blocked(failure_limit, clock, key):
    for _ in range(3):
        APIClient().get(PARTS)

    response = with_key(key).get(PARTS, REMOTE_ADDR="10.0.0.99")

    assert response.status_code == 200


def test_successful_and_forbidden_requests_do_not_count_as_failures(failure_limit, clock, key, roleless):
    _, roleless_key = apikey_create(user=roleless)
    for _ in range(5):
        assert with_key(key).get(PARTS).status_code == 200
        assert with_key(roleless_key).get(PARTS).status_code == 403

    assert with_key(key).get(PARTS).status_code == 200


@pytest.fixture
def anonymous_rate(settings):
    settings.ANONYMOUS_RATE = "2/min"


def test_anonymous_traffic_is_rate_limited(anonymous_rate, anonymous):
    answers = [anonymous.get("/api/docs/").status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_the_anonymous_limit_cannot_be_dodged_with_a_forwarded_for_header(anonymous_rate, anonymous):
    answers = [
        anonymous.get("/api/docs/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(3)
    ]

    assert answers[-1] == 429


def test_authenticated_clients_are_not_held_to_the_anonymous_rate(anonymous_rate, as_viewer):
    answers = {as_viewer.get(PARTS).status_code for _ in range(4)}

    assert answers == {200}


def test_keys_never_appear_in_logs(caplog, lead, key):
    caplog.set_level(logging.DEBUG)
    lookup_part, secret = key.split(".", 1)

    with_key(key).get(PARTS)
    with_key(key).get(PARTS, {"api_key": key})
    APIClient().get(PARTS, {"token": key})
    with_key(f"{lookup_part}.wrong-secret").get(PARTS)
    with_key(key).get("/api/parts/999999/")

    assert "Unauthorized: /api/parts/" in caplog.text  # the failures were logged...
    assert secret not in caplog.text  # ...without the key
    assert "wrong-secret" not in caplog.text


def test_a_refused_key_is_not_echoed_back(lead):
    response = with_key("ps_0123456789abcdef.some-secret-value").get(PARTS)

    assert b"some-secret-value" not in response.content


@pytest.mark.parametrize("login_page", ["/admin/login/", "/api-auth/login/"])
def test_wrong_passwords_on_the_login_forms_are_rate_limited_too(failure_limit, clock, client, lead, login_page):
    def log_in(password):
        return client.post(login_page, {"username": "alice", "password": password})

    answers = [log_in("guess").status_code for _ in range(3)]

    assert answers == [200, 200, 200]  # the form again, with an error
    assert log_in("alice-secret-pw").status_code == 429


def test_a_right_password_on_the_login_form_does_not_count(failure_limit, clock, client, lead):
    for _ in range(4):
        response = client.post("/admin/login/", {"username": "alice", "password": "alice-secret-pw"})
        assert response.status_code == 302
