"""Which address a request came from: the peer, unless the peer is a trusted proxy.

The same answer is used by the rate limits, the lockouts, the sign-in records, the file-access
records and the change log, so a forged X-Forwarded-For header fools none of them.
"""

import json
import logging

import pytest
from auditlog.models import LogEntry
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from audit.models import AuthEvent, FileAccess
from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step
from parts.models import Part
from parts.tests.factories import make_part
from partsite.addresses import client_address
from partsite.services import apikey_create

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
FORGED = "203.0.113.66"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


def address_of(remote_addr, forwarded_for=None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers))


# ---- The rule ----


def test_by_default_the_forwarded_for_header_is_ignored():
    assert address_of(CLIENT, forwarded_for=FORGED) == CLIENT


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client(behind_proxy):
    assert address_of(PROXY, forwarded_for=CLIENT) == CLIENT


def test_behind_a_trusted_proxy_what_the_client_wrote_before_the_proxys_entry_is_ignored(behind_proxy):
    assert address_of(PROXY, forwarded_for=f"{FORGED}, {CLIENT}") == CLIENT


def test_a_peer_that_is_not_a_trusted_proxy_cannot_name_another_client(behind_proxy):
    assert address_of(CLIENT, forwarded_for=FORGED) == CLIENT


def test_a_chain_of_trusted_proxies_given_as_networks_is_walked_back_to_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]

    assert address_of("10.1.2.3", forwarded_for=f"{FORGED}, {CLIENT}, fd00::5, 10.9.9.9") == CLIENT


def test_a_garbled_entry_stops_the_walk_at_the_last_proxy(behind_proxy):
    assert address_of(PROXY, forwarded_for="not-an-address") == PROXY


def test_an_ipv4_peer_on_a_dual_stack_listener_is_its_ipv4_address(behind_proxy):
    assert address_of(f"::ffff:{PROXY}", forwarded_for=CLIENT) == CLIENT


def test_a_request_without_a_peer_address_has_none():
    assert address_of("") is None


def test_a_bad_trusted_proxy_setting_is_refused_with_its_name():
    from partsite.addresses import trusted_networks

    with pytest.raises(ValueError, match="proxy.example.com"):
        trusted_networks(["10.0.0.1", "proxy.example.com"])


# ---- Everyone who records an address uses it ----


def sign_in_through(remote_addr, forwarded_for):
    Client(REMOTE_ADDR=remote_addr).post(
        "/login/", {"username": "alice", "password": "alice-secret-pw"}, HTTP_X_FORWARDED_FOR=forwarded_for
    )
    return AuthEvent.objects.get().client_address


def test_a_sign_in_record_ignores_a_forged_forwarded_for(lead):
    assert sign_in_through(CLIENT, FORGED) == CLIENT


def test_a_sign_in_record_names_the_client_behind_the_trusted_proxy(behind_proxy, lead):
    assert sign_in_through(PROXY, CLIENT) == CLIENT


def download_through(client, remote_addr, forwarded_for):
    revision = post_file(client, make_part(), box_step()).json()
    fetch(client, f"/api/revisions/{revision['id']}/download/", REMOTE_ADDR=remote_addr,
          HTTP_X_FORWARDED_FOR=forwarded_for)
    return FileAccess.objects.get().client_address


def test_a_file_access_record_ignores_a_forged_forwarded_for(as_fabricator):
    assert download_through(as_fabricator, CLIENT, FORGED) == CLIENT


def test_a_file_access_record_names_the_client_behind_the_trusted_proxy(behind_proxy, as_fabricator):
    assert download_through(as_fabricator, PROXY, CLIENT) == CLIENT


def edit_through(client, remote_addr, forwarded_for):
    part = make_part(material="Steel")
    client.patch(f"/api/parts/{part.pk}/", {"material": "Brass"}, format="json", REMOTE_ADDR=remote_addr,
                 HTTP_X_FORWARDED_FOR=forwarded_for)
    return LogEntry.objects.get_for_object(part).get(action=LogEntry.Action.UPDATE).remote_addr


def test_the_change_log_ignores_a_forged_forwarded_for(as_fabricator):
    assert edit_through(as_fabricator, CLIENT, FORGED) == CLIENT


def test_the_change_log_names_the_client_behind_the_trusted_proxy(behind_proxy, as_fabricator):
    assert edit_through(as_fabricator, PROXY, CLIENT) == CLIENT


def test_the_request_log_names_the_client_behind_the_trusted_proxy(behind_proxy, as_viewer, caplog):
    caplog.set_level(logging.INFO, logger="partsite.request")

    as_viewer.get("/api/parts/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}")

    [line] = [record for record in caplog.records if record.name == "partsite.request"]
    assert line.client == CLIENT


def test_the_anonymous_rate_counts_each_client_behind_the_trusted_proxy_apart(behind_proxy, settings):
    settings.ANONYMOUS_RATE = "2/min"
    through_proxy = Client(REMOTE_ADDR=PROXY)

    first = [through_proxy.get("/api/schema/", HTTP_X_FORWARDED_FOR=CLIENT).status_code for _ in range(3)]
    other = through_proxy.get("/api/schema/", HTTP_X_FORWARDED_FOR=FORGED).status_code

    assert (first, other) == ([200, 200, 429], 200)


def test_a_lockout_behind_the_trusted_proxy_holds_only_the_attacking_client(behind_proxy, settings, lead):
    settings.AUTH_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=FORGED)
    colleague = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)

    answers = [attacker.post("/login/", {"username": "alice", "password": "guess"}).status_code for _ in range(3)]
    signed_in = colleague.post("/login/", {"username": "alice", "password": "alice-secret-pw"})

    assert (answers, signed_in.status_code) == ([200, 200, 429], 302)


def test_a_key_lockout_behind_the_trusted_proxy_holds_only_the_attacking_client(behind_proxy, settings, lead):
    settings.AUTH_FAILURE_LIMIT = 3
    wrong_key = {"HTTP_X_API_KEY": "ps_0123456789abcdef.wrong", "REMOTE_ADDR": PROXY}

    answers = [APIClient().get("/api/parts/", HTTP_X_FORWARDED_FOR=FORGED, **wrong_key).status_code for _ in range(3)]
    elsewhere = APIClient().get("/api/parts/", HTTP_X_FORWARDED_FOR=CLIENT, **wrong_key).status_code

    assert (answers, elsewhere) == ([401, 401, 429], 401)


def test_every_record_of_one_request_names_the_same_client(behind_proxy, lead):
    _, key = apikey_create(user=lead)
    client = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{FORGED}, {CLIENT}")
    client.credentials(HTTP_X_API_KEY=key)
    part = client.post("/api/parts/", json.dumps({"name": "Gusset"}), content_type="application/json").json()

    created = LogEntry.objects.get_for_object(Part.objects.get(pk=part["id"])).get(action=LogEntry.Action.CREATE)
    client.credentials(HTTP_X_API_KEY=key + "x")
    client.get("/api/parts/")

    assert created.remote_addr == CLIENT
    assert AuthEvent.objects.get().client_address == CLIENT
