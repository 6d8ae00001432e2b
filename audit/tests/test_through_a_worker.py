"""Telling through a real Celery worker in a process of its own: every notification and webhook event,
a receiver that checks signatures, and one that fails and then recovers."""

import pytest

from audit import notifications, webhooks
from audit.models import DeliveryStatus, Notification, NotificationKind, WebhookDelivery
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part
from partsite.testing import WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        process = WorkerProcess(
            tmp_path_factory.mktemp("worker"), WEBHOOK_ALLOW_LOOPBACK="true", WEBHOOK_RETRY_SECONDS="1,1,1",
        ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def through(worker, settings):
    """This test's changes are told by the worker: its files, its broker."""
    settings.MEDIA_ROOT = worker.data_dir / "media"
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with worker.publishing():
        yield worker


def kinds_told(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_every_part_notification_is_told_by_the_worker_and_emailed(through, lead, fabricator, other_fabricator,
                                                                  viewer):
    fabricator.email = "bob@example.com"
    fabricator.save()
    part = services.part_create(actor=fabricator, name="Bracket", type="hand")  # approved without a model
    notifications.part_follow(user=viewer, part=part)
    services.part_approve(part=part, actor=lead, note="")
    services.part_assign(part=part, actor=lead, assignee=fabricator)
    services.part_send_back(part=part, actor=lead, reason="Wrong hole size")
    services.part_approve(part=part, actor=lead, note="")
    services.part_assign(part=part, actor=lead, assignee=other_fabricator)
    services.part_complete(part=part, actor=other_fabricator, storage_location="Shelf B3")
    services.part_mark_incorrect(part=part, actor=lead, reason="Made from 3 mm")

    through.wait_for(lambda: Notification.objects.count() >= 8, "eight notifications")
    assert kinds_told(fabricator) == sorted([
        NotificationKind.APPROVED, NotificationKind.ASSIGNED, NotificationKind.SENT_BACK, NotificationKind.APPROVED,
        NotificationKind.MARKED_INCORRECT,
    ])
    assert kinds_told(other_fabricator) == sorted([NotificationKind.ASSIGNED, NotificationKind.MARKED_INCORRECT])
    assert kinds_told(viewer) == [NotificationKind.FOLLOWED_COMPLETED]
    through.wait_for(lambda: not Notification.objects.filter(email_status__in=["pending", "sending"]).exists(),
                     "every email sent")
    assert set(Notification.objects.filter(recipient=fabricator).values_list("email_status", flat=True)) == {"sent"}
    assert "Subject: [Partsite] " + f"{part.part_number} Bracket was sent back to review" in through.output()
    assert "Reason: Wrong hole size" in through.output()


def test_each_part_event_reaches_a_receiver_that_checks_the_signature(through, lead, receiver):
    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url)
    receiver.secret = endpoint.secret

    part = services.part_create(actor=lead, name="Gusset", type="hand")
    services.part_update(part=part, actor=lead, material="7075")
    services.part_approve(part=part, actor=lead, note="")

    receiver.wait_for(3)
    assert sorted(payload["type"] for payload in receiver.verified()) == ["part.created", "part.moved", "part.updated"]
    assert all(message.refusal == "" for message in receiver.received)


def test_a_receiver_that_fails_and_then_recovers_gets_it_and_the_log_shows_the_retries(through, lead, receiver):
    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url, event_types=["part.moved"])
    receiver.secret = endpoint.secret
    receiver.answers = [500, 502]

    services.part_claim(part=make_part(Status.REVIEWED), actor=lead)

    through.wait_for(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(), "a delivery")
    delivery = WebhookDelivery.objects.get()
    log = list(delivery.attempt_log.values_list("number", "status_code", "succeeded"))
    assert log == [(1, 500, False), (2, 502, False), (3, 204, True)]
    assert len({message.headers["webhook-id"] for message in receiver.received}) == 1
    assert all(message.payload is not None for message in receiver.received)


def test_revision_events_and_a_failed_conversion_are_told_by_the_worker(through, lead, fabricator, as_fabricator,
                                                                       as_lead, receiver):
    from files.tests.helpers import post_file
    from files.tests.samples import box_step

    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url, event_types=[
        "revision.uploaded", "revision.converted", "revision.conversion_failed", "revision.deleted",
    ])
    receiver.secret = endpoint.secret
    part = make_part()
    good = post_file(as_fabricator, part, box_step(), "bracket.step").json()
    post_file(as_fabricator, part, box_step(solid=False), "no-solids.step")
    through.wait_for(lambda: len(receiver.received) >= 4, "four revision events")
    assert as_lead.delete(f"/api/revisions/{good['id']}/").status_code == 204

    receiver.wait_for(5)
    assert sorted(payload["type"] for payload in receiver.verified()) == [
        "revision.conversion_failed", "revision.converted", "revision.deleted", "revision.uploaded",
        "revision.uploaded",
    ]
    through.wait_for(lambda: Notification.objects.filter(recipient=fabricator).exists(), "a notification")
    assert kinds_told(fabricator) == [NotificationKind.CONVERSION_FAILED]
