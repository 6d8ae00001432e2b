"""/api/webhooks/: leads register endpoints, send test events and read the delivery log; nobody else may."""

import pytest

from audit.models import WebhookEndpoint

WEBHOOKS = "/api/webhooks/"


def test_a_lead_registers_an_endpoint_and_gets_its_secret(as_lead):
    response = as_lead.post(WEBHOOKS, {
        "url": "https://erp.example.com/partsite", "description": "ERP", "event_types": ["part.moved"],
    }, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["is_active"] is True
    assert body["event_types"] == ["part.moved"] and body["created_by"] == "alice"


@pytest.mark.parametrize("body,field", [
    ({"url": "http://127.0.0.1/hook"}, "url"),
    ({"url": "http://169.254.169.254/"}, "url"),
    ({"url": "https://erp.example.com/", "event_types": ["part.exploded"]}, "event_types"),
])
def test_bad_endpoints_are_400_naming_the_field(as_lead, body, field):
    response = as_lead.post(WEBHOOKS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not WebhookEndpoint.objects.exists()


def test_a_lead_disables_and_enables_an_endpoint(as_lead):
    endpoint = as_lead.post(WEBHOOKS, {"url": "https://erp.example.com/"}, format="json").json()

    assert as_lead.patch(f"{WEBHOOKS}{endpoint['id']}/", {"is_active": False}, format="json").json()["is_active"] is False
    enabled = as_lead.patch(f"{WEBHOOKS}{endpoint['id']}/", {"is_active": True}, format="json").json()
    assert enabled["is_active"] is True and enabled["consecutive_failures"] == 0


def test_a_test_event_reaches_the_receiver_and_shows_in_the_delivery_log(as_lead, receiver, telling):
    endpoint = as_lead.post(WEBHOOKS, {"url": receiver.url}, format="json").json()
    receiver.secret = endpoint["secret"]

    with telling:
        response = as_lead.post(f"{WEBHOOKS}{endpoint['id']}/test/")

    assert response.status_code == 202
    [payload] = receiver.verified()
    assert payload["type"] == "webhook.test"
    [delivery] = as_lead.get(f"{WEBHOOKS}{endpoint['id']}/deliveries/").json()["results"]
    assert delivery["status"] == "succeeded" and delivery["payload"] == payload
    [attempt] = delivery["attempt_log"]
    assert attempt["succeeded"] is True and attempt["status_code"] == 204 and attempt["duration_ms"] >= 0


def test_only_leads_manage_webhooks(as_fabricator, as_viewer, anonymous, lead):
    from audit import webhooks

    endpoint = webhooks.endpoint_create(actor=lead, url="https://erp.example.com/")
    for client in (as_fabricator, as_viewer):
        assert client.get(WEBHOOKS).status_code == 403
        assert client.post(WEBHOOKS, {"url": "https://x.example.com/"}, format="json").status_code == 403
        assert client.post(f"{WEBHOOKS}{endpoint.pk}/test/").status_code == 403
        assert client.get(f"{WEBHOOKS}{endpoint.pk}/deliveries/").status_code == 403
    assert anonymous.get(WEBHOOKS).status_code == 401


def test_a_lead_deletes_an_endpoint(as_lead, lead):
    from audit import webhooks

    endpoint = webhooks.endpoint_create(actor=lead, url="https://erp.example.com/")

    assert as_lead.delete(f"{WEBHOOKS}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
