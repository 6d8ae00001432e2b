"""Webhook endpoints in the admin: leads add them, see the secret, send a test event and read the delivery log."""

from audit import webhooks
from audit.models import WebhookDelivery, WebhookEndpoint

ENDPOINTS = "/admin/audit/webhookendpoint/"


def test_a_lead_adds_an_endpoint_for_some_events_and_sees_its_secret(client, lead):
    client.force_login(lead)

    response = client.post(f"{ENDPOINTS}add/", {
        "url": "https://chat.example.com/hooks/parts", "description": "Team chat", "event_types": ["part.moved"],
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["part.moved"] and endpoint.created_by == lead
    assert endpoint.secret in client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()


def test_the_admin_refuses_a_loopback_endpoint_with_the_reason(client, lead):
    client.force_login(lead)

    response = client.post(f"{ENDPOINTS}add/", {"url": "http://127.0.0.1:9000/hook"})

    assert response.status_code == 200
    assert "a loopback address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_send_test_event_button_delivers_and_the_log_shows_it(client, lead, receiver, telling):
    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url)
    receiver.secret = endpoint.secret
    client.force_login(lead)
    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert 'name="_send_test"' in page

    with telling:
        client.post(f"{ENDPOINTS}{endpoint.pk}/change/", {
            "url": endpoint.url, "description": "", "is_active": "on", "_send_test": "Send test event",
            "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0",
        })

    [payload] = receiver.verified()
    assert payload["type"] == "webhook.test"
    delivery = WebhookDelivery.objects.get()
    log = client.get(f"/admin/audit/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "webhook.test" in log and "204" in log


def test_fabricators_have_no_webhook_admin(client, fabricator):
    client.force_login(fabricator)

    assert client.get(ENDPOINTS).status_code == 302  # not staff: sent to the admin's login
