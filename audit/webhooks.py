"""Telling other systems: webhook endpoints, and deliveries signed as Standard Webhooks says.

Every write to endpoints and deliveries is here. An event becomes one delivery per endpoint
that wants its type; a delivery's body is fixed when it is made and signed anew at each
attempt (webhook-id, webhook-timestamp and webhook-signature headers, with the `standardwebhooks`
library), since receivers refuse a timestamp more than five minutes old.

A delivery is tried at once, then again after each pause of WEBHOOK_RETRY_SECONDS (about a
day in all); each attempt is a row of the log. An attempt is claimed by a conditional update,
so a message delivered twice by the broker sends once. An endpoint that failed
WEBHOOK_DISABLE_AFTER_FAILURES attempts in a row is disabled, its waiting deliveries fail, and
the leads are notified; a lead enables it again.

Requests have timeouts and never follow redirects (a 3xx is a failure), and an endpoint whose
address is loopback (unless WEBHOOK_ALLOW_LOOPBACK) or link-local (cloud metadata services
live there) is refused, when it is registered and again at each attempt, after name resolution.
"""

import base64
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from audit.models import (
    TEST_EVENT_TYPE,
    DeliveryStatus,
    NotificationKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from audit.notifications import leads, notify
from audit.queueing import delivery_queue
from partsite.errors import Invalid, NotPermitted
from partsite.models import EventType
from partsite.roles import is_lead

logger = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 500
# A delivery claimed this long ago and still `sending` lost its worker; the sweep puts it back.
SENDING_GRACE = timedelta(minutes=10)
# A due delivery's own message normally starts it; the sweep waits this long before queueing it again.
DUE_GRACE = timedelta(minutes=1)


class Refused(Exception):
    """Partsite would not send to this address."""


def check_may_manage(actor):
    if not is_lead(actor):
        raise NotPermitted("Only a lead may manage webhooks.")


def new_secret():
    """A signing secret as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url):
    """Refuse what is not an http(s) URL, and a host that is a loopback or link-local address itself."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("Enter an http:// or https:// URL.", field="url")
    if parts.username or parts.password:
        raise Invalid("Put no user name or password in the URL; receivers check the signature.", field="url")
    try:
        _check_address(parts.hostname, _literal_address(parts.hostname))
    except Refused as refused:
        raise Invalid(str(refused), field="url") from None


def _literal_address(host):
    if host == "localhost" or host.endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return []


def _check_address(host, addresses):
    for address in addresses:
        address = getattr(address, "ipv4_mapped", None) or address
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            raise Refused(f"{host} is {address}, a link-local, multicast or unspecified address; webhooks are "
                          "never sent there.")
        if address.is_loopback and not settings.WEBHOOK_ALLOW_LOOPBACK:
            raise Refused(f"{host} is {address}, a loopback address; webhooks are sent there only with "
                          "WEBHOOK_ALLOW_LOOPBACK=true.")


def _resolved(url):
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise Refused(f"{parts.hostname} could not be resolved: {error}") from None
    return parts.hostname, [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _check_event_types(event_types):
    unknown = set(event_types) - set(EventType.values)
    if unknown:
        raise Invalid(
            f"Unknown event types: {', '.join(sorted(unknown))}; choose from {', '.join(EventType.values)}.",
            field="event_types",
        )
    return sorted(set(event_types))


def endpoint_create(*, actor, url, description="", event_types=(), is_active=True):
    check_may_manage(actor)
    check_url(url)
    return WebhookEndpoint.objects.create(
        url=url, description=description, event_types=_check_event_types(event_types), secret=new_secret(),
        is_active=is_active, created_by=actor,
    )


def endpoint_update(*, endpoint, actor, **fields):
    """Change an endpoint's url, description, event_types, or is_active (enabling it starts its count afresh)."""
    check_may_manage(actor)
    unknown = set(fields) - {"url", "description", "event_types", "is_active"}
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "url" in fields:
        check_url(fields["url"])
    if "event_types" in fields:
        fields["event_types"] = _check_event_types(fields["event_types"])
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        enabling = fields.get("is_active") is True and not endpoint.is_active
        disabling = fields.get("is_active") is False and endpoint.is_active
        for name, value in fields.items():
            setattr(endpoint, name, value)
        if enabling:
            endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason = 0, None, ""
        if disabling:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), f"Disabled by {actor.get_username()}."
        endpoint.save()
        if disabling:
            _fail_waiting(endpoint, "The endpoint was disabled.")
    return endpoint


def endpoint_delete(*, endpoint, actor):
    check_may_manage(actor)
    endpoint.delete()


def _message_body(event_type, at, data):
    """The payload as Standard Webhooks shapes it: type, timestamp and data."""
    body = {"type": event_type, "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def deliveries_create(event):
    """One delivery of the event to each active endpoint that wants its type (inside the dispatch's transaction)."""
    made = []
    for endpoint in WebhookEndpoint.objects.filter(is_active=True):
        if not endpoint.wants(event.type):
            continue
        delivery, created = WebhookDelivery.objects.get_or_create(endpoint=endpoint, event=event, defaults={
            "message_id": f"msg_{event.uid.hex}", "event_type": event.type,
            "body": _message_body(event.type, event.created_at, event.data), "next_attempt_at": timezone.now(),
        })
        if created:
            delivery_queue(delivery.pk)
            made.append(delivery)
    return made


def test_event_send(*, endpoint, actor):
    """Send the endpoint a `webhook.test` message now, once, whether or not it is enabled.

    It is not retried and does not count towards disabling the endpoint: it is for seeing
    what the receiver answers, in the delivery log."""
    check_may_manage(actor)
    now = timezone.now()
    data = {"endpoint": endpoint.pk, "sent_by": actor.get_username(), "message": "A test event from Partsite."}
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, message_id=f"msg_test_{secrets.token_hex(12)}", event_type=TEST_EVENT_TYPE,
            body=_message_body(TEST_EVENT_TYPE, now, data), next_attempt_at=now,
        )
        delivery_queue(delivery.pk)
    return delivery


def _retry_pauses():
    return settings.WEBHOOK_RETRY_SECONDS


def max_attempts():
    return 1 + len(_retry_pauses())


def delivery_attempt(delivery_id):
    """Make the next attempt of a delivery that is due; returns the attempt, or None when there was nothing to do."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now, next_attempt_at=None)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active and not delivery.is_test:
        _finish(delivery, DeliveryStatus.FAILED, "The endpoint is disabled.")
        return None
    outcome = _send(delivery, endpoint)
    attempt = WebhookAttempt.objects.create(delivery=delivery, number=delivery.attempts, **outcome)
    if attempt.succeeded:
        _finish(delivery, DeliveryStatus.SUCCEEDED, "")
        if not delivery.is_test:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return attempt
    if delivery.is_test or delivery.attempts >= max_attempts():
        _finish(delivery, DeliveryStatus.FAILED, attempt.error)
    else:
        pause = _retry_pauses()[delivery.attempts - 1]
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=pause),
            error=attempt.error,
        )
        delivery_queue(delivery.pk, countdown=pause)
    if not delivery.is_test:
        _count_failure(endpoint, attempt)
    return attempt


def _finish(delivery, status, error):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, finished_at=timezone.now(), error=error)


def _send(delivery, endpoint):
    """POST the delivery's body, signed now; what happened, as the fields of a WebhookAttempt."""
    started, at = time.monotonic(), datetime.now(tz=UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Partsite-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(delivery.message_id, at, delivery.body),
    }
    status_code, excerpt, error = None, "", ""
    try:
        _check_address(*_resolved(endpoint.url))
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
        with requests.post(
            endpoint.url, data=delivery.body.encode(), headers=headers, timeout=(timeout, timeout),
            allow_redirects=False, stream=True,
        ) as response:
            status_code = response.status_code
            excerpt = response.raw.read(RESPONSE_EXCERPT_BYTES, decode_content=True).decode("utf-8", "replace")
    except Refused as refused:
        error = str(refused)
    except requests.RequestException as failed:
        error = f"{type(failed).__name__}: {failed}"
    succeeded = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not succeeded:
        error = f"HTTP {status_code}" + (" (redirects are not followed)" if 300 <= status_code < 400 else "")
    return {
        "at": at, "succeeded": succeeded, "status_code": status_code, "error": error[:2000], "response_excerpt": excerpt,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }


def _count_failure(endpoint, attempt):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    endpoint.refresh_from_db()
    if endpoint.consecutive_failures < settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        return
    reason = (f"Disabled after {endpoint.consecutive_failures} failed attempts in a row; "
              f"the last: {attempt.error or 'no answer'}.")
    with transaction.atomic():
        if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=timezone.now(), disabled_reason=reason,
        ):
            return  # already disabled: the leads were told then
        _fail_waiting(endpoint, "The endpoint was disabled after repeated failures.")
        notify(
            recipients=leads(), kind=NotificationKind.WEBHOOK_DISABLED,
            title=f"Webhook endpoint {endpoint.url} was disabled", body=f"{reason} Enable it again once it answers.",
            link=reverse("admin:audit_webhookendpoint_change", args=[endpoint.pk]),
        )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)


def _fail_waiting(endpoint, reason):
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exclude(
        event_type=TEST_EVENT_TYPE,
    ).update(status=DeliveryStatus.FAILED, finished_at=timezone.now(), error=reason)


def deliveries_requeue_due():
    """Queue again the deliveries whose message was lost (due a while ago, or claimed by a lost worker)."""
    now = timezone.now()
    WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - SENDING_GRACE).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now,
    )
    ids = list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lt=now - DUE_GRACE,
    ).values_list("pk", flat=True))
    for delivery_id in ids:
        delivery_queue(delivery_id)
    return len(ids)
