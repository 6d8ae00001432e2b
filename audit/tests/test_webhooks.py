"""Webhooks: every event reaches the endpoints that want it, signed as Standard Webhooks says,
tried again with back-off, and an endpoint that keeps failing is disabled and the leads told."""

import json
import re
import time

import pytest

from audit import webhooks
from audit.models import DeliveryStatus, Notification, NotificationKind, WebhookDelivery
from audit.tasks import tell_what_was_missed
from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part
from partsite.errors import Invalid
from partsite.models import Event


def test_each_part_event_reaches_the_receiver_signed_and_in_order(lead, fabricator, endpoint, receiver, telling):
    with telling:
        part = services.part_create(actor=fabricator, name="Bracket", material="6061", type="hand")
        services.part_update(part=part, actor=fabricator, material="7075")
        services.part_approve(part=part, actor=lead, note="")
        services.part_assign(part=part, actor=lead, assignee=fabricator)

    payloads = receiver.verified()
    assert [payload["type"] for payload in payloads] == ["part.created", "part.updated", "part.moved", "part.moved"]
    created, updated, approved, assigned = payloads
    assert created["data"]["part"]["name"] == "Bracket" and created["data"]["actor"] == "bob"
    assert updated["data"]["changes"] == {"material": ["6061", "7075"]}
    assert (approved["data"]["action"], approved["data"]["from_status"], approved["data"]["to_status"]) == (
        "approve", "pending", "reviewed",
    )
    assert assigned["data"]["part"]["assignee"] == "bob"
    assert assigned["data"]["part"]["url"] == f"http://127.0.0.1:8000/parts/{part.pk}/"
    assert all(message.refusal == "" for message in receiver.received)


def test_the_headers_follow_the_standard_and_a_wrong_secret_fails_verification(lead, endpoint, receiver, telling):
    with telling:
        services.part_create(actor=lead, name="Spacer")

    [message] = receiver.received
    headers = {name.lower(): value for name, value in message.headers.items()}
    assert headers["webhook-id"] == f"msg_{Event.objects.get().uid.hex}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(message.body, message.headers)


def test_an_endpoint_hears_only_the_event_types_it_chose(lead, receiver, telling):
    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url, event_types=["part.moved"])
    receiver.secret = endpoint.secret

    with telling:
        part = services.part_create(actor=lead, name="Spacer", type="hand")
        services.part_approve(part=part, actor=lead, note="")

    assert [payload["type"] for payload in receiver.verified()] == ["part.moved"]


def test_a_disabled_endpoint_hears_nothing(lead, endpoint, receiver, telling):
    webhooks.endpoint_update(endpoint=endpoint, actor=lead, is_active=False)

    with telling:
        services.part_create(actor=lead, name="Spacer")

    assert receiver.received == []


def test_a_receiver_that_fails_and_then_recovers_gets_the_message_and_the_log_shows_each_try(
    lead, endpoint, receiver, settings, telling,
):
    settings.WEBHOOK_RETRY_SECONDS = [0, 0, 0]
    receiver.answers = [500, 503]

    with telling:
        services.part_create(actor=lead, name="Spacer")

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    log = [(attempt.number, attempt.succeeded, attempt.status_code) for attempt in delivery.attempt_log.all()]
    assert log == [(1, False, 500), (2, False, 503), (3, True, 204)]
    assert all(attempt.duration_ms >= 0 for attempt in delivery.attempt_log.all())
    ids = {message.headers["webhook-id"] for message in receiver.received}
    assert len(ids) == 1  # the same message each time, signed afresh
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_retries_wait_longer_each_time_and_give_up_after_the_last(lead, endpoint, receiver, settings, telling):
    settings.WEBHOOK_RETRY_SECONDS = [5, 300]
    receiver.answers = [500, 500, 500]

    with telling:
        services.part_create(actor=lead, name="Spacer")
    delivery = WebhookDelivery.objects.get()
    first_wait = (delivery.next_attempt_at - delivery.attempt_log.get().at).total_seconds()
    assert delivery.status == DeliveryStatus.PENDING and 5 <= first_wait < 6
    assert webhooks.delivery_attempt(delivery.pk) is None  # not due yet: nothing is sent

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    webhooks.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    second_wait = (delivery.next_attempt_at - delivery.attempt_log.last().at).total_seconds()
    assert 300 <= second_wait < 301

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    webhooks.delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.FAILED, 3, "HTTP 500")
    assert len(receiver.received) == 3


def test_an_endpoint_that_keeps_failing_is_disabled_and_the_leads_are_told(lead, endpoint, receiver, settings, telling):
    settings.WEBHOOK_RETRY_SECONDS = [3600]
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.answers = [500] * 10

    with telling:
        for name in ("One", "Two", "Three", "Four"):
            services.part_create(actor=lead, name=name)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "Disabled after 3 failed attempts in a row; the last: HTTP 500." == endpoint.disabled_reason
    assert len(receiver.received) == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    [told] = Notification.objects.filter(kind=NotificationKind.WEBHOOK_DISABLED)
    assert told.recipient == lead and endpoint.url in told.title

    webhooks.endpoint_update(endpoint=endpoint, actor=lead, is_active=True)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


def test_redirects_are_not_followed(lead, endpoint, receiver, telling):
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"

    with telling:
        services.part_create(actor=lead, name="Spacer")

    attempt = WebhookDelivery.objects.get().attempt_log.first()
    assert (attempt.succeeded, attempt.status_code) == (False, 302)
    assert attempt.error == "HTTP 302 (redirects are not followed)"
    assert len(receiver.received) == 1


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(lead, endpoint, receiver, settings, telling):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay_seconds = 3

    with telling:
        services.part_create(actor=lead, name="Spacer")

    attempt = WebhookDelivery.objects.get().attempt_log.first()
    assert not attempt.succeeded and "ReadTimeout" in attempt.error
    assert attempt.duration_ms < 2500


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook", "http://169.254.169.254/",
    "http://[fe80::1]/", "ftp://example.com/", "https://user:pw@example.com/", "not a url",
])
def test_loopback_link_local_and_odd_urls_are_refused(lead, url):
    with pytest.raises(Invalid):
        webhooks.endpoint_create(actor=lead, url=url)


def test_loopback_is_allowed_when_the_setting_says_so_but_link_local_never(lead, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True

    assert webhooks.endpoint_create(actor=lead, url="http://127.0.0.1:8700/hook").pk
    with pytest.raises(Invalid, match="link-local"):
        webhooks.endpoint_create(actor=lead, url="http://169.254.169.254/")


def test_an_endpoint_whose_name_resolves_to_loopback_is_refused_when_sending(lead, endpoint, receiver, settings, telling):
    endpoint.url = receiver.url.replace("127.0.0.1", "localhost")
    endpoint.save()
    settings.WEBHOOK_ALLOW_LOOPBACK = False

    with telling:
        services.part_create(actor=lead, name="Spacer")

    attempt = WebhookDelivery.objects.get().attempt_log.first()
    assert "a loopback address" in attempt.error
    assert receiver.received == []


def test_a_test_event_is_sent_once_even_to_a_disabled_endpoint(lead, endpoint, receiver, telling):
    webhooks.endpoint_update(endpoint=endpoint, actor=lead, is_active=False)

    with telling:
        webhooks.test_event_send(endpoint=endpoint, actor=lead)

    [payload] = receiver.verified()
    assert payload["type"] == "webhook.test" and payload["data"]["sent_by"] == "alice"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_an_event_whose_message_was_lost_is_told_by_the_sweep(lead, endpoint, receiver, telling, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down: nothing was queued
        services.part_create(actor=lead, name="Spacer")
    event = Event.objects.get()
    Event.objects.filter(pk=event.pk).update(created_at=event.created_at.replace(year=2020))
    assert receiver.received == []

    with telling:
        assert tell_what_was_missed() == 1

    assert [payload["type"] for payload in receiver.verified()] == ["part.created"]
    with telling:
        assert tell_what_was_missed() == 0


def test_a_payload_is_what_was_true_when_it_happened(lead, endpoint, receiver, telling):
    part = make_part(Status.REVIEWED, name="Old name")
    with telling:
        services.part_claim(part=part, actor=lead)
    part.refresh_from_db()
    part.name = "New name"
    part.save()

    body = json.loads(WebhookDelivery.objects.get().body)
    assert body["data"]["part"]["name"] == "Old name"
    assert set(body) == {"type", "timestamp", "data"}


def test_revisions_uploaded_converted_failed_and_deleted_are_told(lead, as_fabricator, as_lead, endpoint, receiver,
                                                                  telling):
    part = make_part()
    with telling:
        good = post_file(as_fabricator, part, box_step(30, 20, 10), "bracket.step").json()
        post_file(as_fabricator, part, box_step(solid=False), "no-solids.step")
    with telling:
        assert as_lead.delete(f"/api/revisions/{good['id']}/").status_code == 204

    told = {}
    for payload in receiver.verified():
        told.setdefault(payload["type"], []).append(payload)
    assert {name: len(payloads) for name, payloads in told.items()} == {
        "revision.uploaded": 2, "revision.converted": 1, "revision.conversion_failed": 1, "revision.deleted": 1,
    }
    uploaded, [converted], [failed], [deleted] = (
        told["revision.uploaded"][0], told["revision.converted"], told["revision.conversion_failed"],
        told["revision.deleted"],
    )
    assert uploaded["data"]["revision"]["filename"] == "bracket.step" and uploaded["data"]["actor"] == "bob"
    assert converted["data"]["revision"]["bbox_mm"] == [30.0, 20.0, 10.0]
    assert failed["data"]["revision"]["conversion_status"] == "failed"
    assert failed["data"]["revision"]["conversion_error"]
    assert deleted["data"]["revision"]["id"] == good["id"] and deleted["data"]["actor"] == "alice"


def test_the_readme_shows_a_message_whose_signature_verifies():
    from datetime import UTC, datetime
    from pathlib import Path

    from standardwebhooks.webhooks import Webhook

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    secret = re.search(r"signed with the\nsecret `(whsec_[^`]+)`", readme)[1]
    example = re.search(r"```http\n(.*?)\n\n(.*?)\n```", readme, re.DOTALL)
    headers = dict(line.split(": ", 1) for line in example[1].splitlines()[1:])
    body = example[2]

    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert Webhook(secret).sign(headers["webhook-id"], at, body) == headers["webhook-signature"]
    assert json.loads(body)["type"] == "part.moved"
