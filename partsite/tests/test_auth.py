"""How clients prove who they are: API keys in a header, sessions, and the limits on failing."""

import logging
import socket
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from partsite.models import ApiKey
from partsite.services import apikey_create, apikey_revoke
from partsite.testing import all_at_once

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


# ---- Lockouts: failed credentials count, per credential and address ----

WRONG_KEY = "ps_0123456789abcdef.wrong"


@pytest.fixture
def failure_limit(settings):
    settings.AUTH_FAILURE_LIMIT = 3
    settings.AUTH_FAILURE_WINDOW_SECONDS = 60


def time_passes(seconds):
    """Every failure on record happened this much earlier (the lockout counts failures in the database)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=seconds))


def test_guessing_at_a_key_is_locked_out_after_the_limit(failure_limit, lead):
    wrong = with_key(WRONG_KEY)

    answers = [wrong.get(PARTS).status_code for _ in range(4)]

    assert answers == [401, 401, 429, 429]
    refused = wrong.get(PARTS)
    assert "Too many failed attempts with this API key from your address" in refused.json()["detail"]
    assert refused["Retry-After"] == "60"


def test_requests_without_credentials_do_not_lock_out_a_valid_key_from_the_same_address(failure_limit, key):
    for _ in range(30):
        assert APIClient().get(PARTS).status_code == 401

    assert with_key(key).get(PARTS).status_code == 200


def test_a_valid_key_from_the_same_address_works_while_a_guesser_is_locked_out(failure_limit, key):
    for _ in range(5):
        with_key(WRONG_KEY).get(PARTS)
    assert with_key(WRONG_KEY).get(PARTS).status_code == 429

    assert with_key(key).get(PARTS).status_code == 200


def test_the_right_key_still_works_while_guesses_at_its_lookup_are_locked_out(failure_limit, key):
    # A key's secret is 256 random bits, so refusing the right one would protect nothing
    # and let anyone who saw the public lookup lock its owner out.
    lookup_part, _ = key.split(".", 1)
    guesses = with_key(f"{lookup_part}.guessed-secret")
    for _ in range(3):
        guesses.get(PARTS)

    assert guesses.get(PARTS).status_code == 429
    assert with_key(key).get(PARTS).status_code == 200


def test_sessions_at_the_same_address_keep_working_while_a_guesser_is_locked_out(failure_limit, client, lead):
    for _ in range(5):
        APIClient().get(PARTS)
        with_key(WRONG_KEY).get(PARTS)
    client.force_login(lead)

    assert client.get(PARTS).status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/").status_code == 200


def test_a_key_lockout_holds_only_for_that_address(failure_limit, lead):
    for _ in range(3):
        with_key(WRONG_KEY).get(PARTS)

    response = with_key(WRONG_KEY).get(PARTS, REMOTE_ADDR="10.0.0.99")

    assert response.status_code == 401


def test_a_key_lockout_lifts_after_the_cool_off(failure_limit, lead):
    wrong = with_key(WRONG_KEY)
    for _ in range(3):
        wrong.get(PARTS)
    assert wrong.get(PARTS).status_code == 429

    time_passes(61)

    assert wrong.get(PARTS).status_code == 401


def test_successful_and_forbidden_requests_do_not_count_as_failures(failure_limit, key, roleless):
    _, roleless_key = apikey_create(user=roleless)
    for _ in range(5):
        assert with_key(key).get(PARTS).status_code == 200
        assert with_key(roleless_key).get(PARTS).status_code == 403

    assert with_key(key).get(PARTS).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_failures_sent_at_the_same_moment_are_each_counted(settings):
    settings.AUTH_FAILURE_LIMIT = 9

    answers = all_at_once(lambda _: with_key(WRONG_KEY).get(PARTS).status_code, range(8))

    assert answers == [401] * 8
    assert with_key(WRONG_KEY).get(PARTS).status_code == 429  # the ninth


LOGIN_PAGES = ["/login/", "/admin/login/", "/api-auth/login/"]


def sign_in(client, page, username, password):
    return client.post(page, {"username": username, "password": password})


@pytest.mark.parametrize("login_page", LOGIN_PAGES)
def test_wrong_passwords_on_every_login_form_lock_that_name_out(failure_limit, client, lead, login_page):
    answers = [sign_in(client, login_page, "alice", "guess").status_code for _ in range(3)]

    assert answers == [200, 200, 429]  # the form again with an error, then the lockout
    locked = sign_in(client, login_page, "alice", "alice-secret-pw")
    assert locked.status_code == 429  # even the right password, while locked out
    assert "Too many failed sign-ins as alice from your address" in locked.content.decode()
    assert locked["Retry-After"] == "60"
    assert "_auth_user_id" not in client.session


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(client, lead):
    for _ in range(30):
        sign_in(client, "/login/", "alice", "guess")

    response = sign_in(client, "/login/", "alice", "alice-secret-pw")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("login_page", LOGIN_PAGES)
def test_a_locked_out_name_leaves_others_at_the_same_address_signing_in(failure_limit, lead, fabricator, login_page):
    attacker = Client()
    for _ in range(4):
        sign_in(attacker, login_page, "bob", "guess")

    colleague = Client()
    response = sign_in(colleague, login_page, "alice", "alice-secret-pw")

    assert response.status_code == 302
    assert colleague.session["_auth_user_id"] == str(lead.pk)


def test_a_right_password_on_the_login_form_does_not_count(failure_limit, client, lead):
    for _ in range(4):
        response = sign_in(client, "/admin/login/", "alice", "alice-secret-pw")
        assert response.status_code == 302


def test_a_sign_in_lockout_lifts_after_the_cool_off(failure_limit, client, lead):
    for _ in range(3):
        sign_in(client, "/login/", "alice", "guess")

    time_passes(61)

    assert sign_in(client, "/login/", "alice", "alice-secret-pw").status_code == 302


# ---- Anonymous traffic ----


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


def test_heavy_anonymous_traffic_does_not_hold_back_signed_in_people_at_the_same_address(anonymous_rate, as_viewer,
                                                                                        anonymous):
    for _ in range(5):
        anonymous.get("/api/schema/")

    assert as_viewer.get("/api/schema/").status_code == 200


# ---- The cache is down ----


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cache_at(settings, location):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}


def test_a_valid_key_works_while_the_cache_is_down(settings, closed_port, key):
    cache_at(settings, f"redis://127.0.0.1:{closed_port}/0")

    assert with_key(key).get(PARTS).status_code == 200
    assert with_key(key).get("/api/auth/check/").json()["username"] == "alice"


def test_sessions_and_sign_ins_work_while_the_cache_is_down(settings, closed_port, client, lead):
    cache_at(settings, f"redis://127.0.0.1:{closed_port}/0")

    assert sign_in(client, "/login/", "alice", "alice-secret-pw").status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get(PARTS).status_code == 200


def test_anonymous_pages_stay_open_while_the_cache_is_down_and_it_is_logged_once(settings, closed_port, anonymous,
                                                                               caplog):
    settings.ANONYMOUS_RATE = "2/min"
    assert anonymous.get("/api/schema/").status_code == 200  # the cache answers
    cache_at(settings, f"redis://127.0.0.1:{closed_port}/0")

    answers = [anonymous.get("/api/schema/").status_code for _ in range(4)]

    assert answers == [200] * 4  # no limit without a cache to count in, rather than no service
    outage = [record for record in caplog.records if "cache" in record.getMessage().lower()]
    assert len(outage) == 1 and outage[0].levelname == "ERROR"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "back"}}
    anonymous.get("/api/schema/")
    assert [record.levelname for record in caplog.records if "answers again" in record.getMessage()] == ["INFO"]


# ---- Keys never leak ----


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


def test_the_lockout_records_keep_no_secret(failure_limit, lead):
    from axes.models import AccessAttempt

    for _ in range(3):
        with_key("ps_0123456789abcdef.some-secret-value").get(PARTS)

    [attempt] = AccessAttempt.objects.all()
    assert attempt.username == "ps_0123456789abcdef"
    assert "some-secret-value" not in f"{attempt.get_data} {attempt.post_data} {attempt.username}"
