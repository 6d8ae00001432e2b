"""Who is told what when a part moves: in their inbox and, as they choose, by email."""

import pytest
from django.core import mail

from audit import notifications
from audit.models import EmailStatus, Notification, NotificationKind
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part


def inbox(user):
    return [(n.kind, n.title) for n in Notification.objects.filter(recipient=user).order_by("created_at", "id")]


@pytest.fixture
def bob_has_an_address(fabricator):
    fabricator.email = "bob@example.com"
    fabricator.save()
    return fabricator


def test_assigning_a_part_tells_the_assignee_and_emails_them(lead, bob_has_an_address, telling):
    part = make_part(Status.REVIEWED, part_number="P-00012", name="Bracket")

    with telling:
        services.part_assign(part=part, actor=lead, assignee=bob_has_an_address)

    assert inbox(bob_has_an_address) == [(NotificationKind.ASSIGNED, "P-00012 Bracket was assigned to you")]
    assert inbox(lead) == []
    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    assert email.subject == "[Partsite] P-00012 Bracket was assigned to you"
    assert "alice assigned it to you." in email.body
    assert f"http://127.0.0.1:8000/parts/{part.pk}/" in email.body
    assert Notification.objects.get(recipient=bob_has_an_address).email_status == EmailStatus.SENT


def test_claiming_a_part_for_yourself_tells_nobody(fabricator, telling):
    with telling:
        services.part_claim(part=make_part(Status.REVIEWED), actor=fabricator)

    assert not Notification.objects.exists()


def test_approval_tells_whoever_created_the_part(lead, fabricator, telling):
    with telling:
        part = services.part_create(actor=fabricator, name="Gusset", type="hand")
        services.part_approve(part=part, actor=lead, note="Looks right")

    [(kind, title)] = inbox(fabricator)
    assert (kind, title) == (NotificationKind.APPROVED, f"{part.part_number} Gusset was approved")
    assert Notification.objects.get().body == "alice approved it; it waits in the hand queue. Note: Looks right"


def test_sending_back_tells_the_creator_and_whoever_had_it_with_the_reason(lead, fabricator, other_fabricator, telling):
    part = make_part(Status.IN_PROGRESS, assignee=other_fabricator, created_by=fabricator)

    with telling:
        services.part_send_back(part=part, actor=lead, reason="The hole is on the wrong side")

    for person in (fabricator, other_fabricator):
        assert inbox(person) == [(NotificationKind.SENT_BACK, f"{part.part_number} Bracket was sent back to review")]
    assert {n.body for n in Notification.objects.all()} == {"alice sent it back. Reason: The hole is on the wrong side"}


def test_marking_incorrect_tells_whoever_made_it_with_the_reason(lead, fabricator, telling):
    part = make_part(Status.COMPLETED, assignee=fabricator, created_by=lead)

    with telling:
        services.part_mark_incorrect(part=part, actor=lead, reason="Made from 3 mm, not 6 mm")

    [notification] = Notification.objects.all()
    assert notification.recipient == fabricator  # the lead created it but marked it incorrect, so is not told
    assert notification.kind == NotificationKind.MARKED_INCORRECT
    assert "Reason: Made from 3 mm, not 6 mm" in notification.body


def test_completing_a_part_tells_its_followers_but_not_whoever_completed_it(fabricator, viewer, lead, telling):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator)
    notifications.part_follow(user=viewer, part=part)
    notifications.part_follow(user=fabricator, part=part)

    with telling:
        services.part_complete(part=part, actor=fabricator, storage_location="Shelf B3")

    assert inbox(viewer) == [(NotificationKind.FOLLOWED_COMPLETED, f"{part.part_number} Bracket was completed")]
    assert Notification.objects.get().body == "bob completed it. Stored at Shelf B3."
    assert inbox(fabricator) == [] and inbox(lead) == []


def test_someone_who_stopped_following_is_not_told(fabricator, viewer, telling):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator)
    notifications.part_follow(user=viewer, part=part)
    notifications.part_unfollow(user=viewer, part=part)

    with telling:
        services.part_complete(part=part, actor=fabricator, storage_location="")

    assert not Notification.objects.exists()


def test_nobody_gets_an_email_of_a_kind_they_turned_off(lead, bob_has_an_address, telling):
    notifications.email_choices_set(user=bob_has_an_address, choices={NotificationKind.ASSIGNED: False})

    with telling:
        services.part_assign(part=make_part(Status.REVIEWED), actor=lead, assignee=bob_has_an_address)

    assert inbox(bob_has_an_address) != []
    assert mail.outbox == []


def test_nobody_without_an_email_address_gets_an_email(lead, fabricator, telling):
    with telling:
        services.part_assign(part=make_part(Status.REVIEWED), actor=lead, assignee=fabricator)

    assert len(inbox(fabricator)) == 1
    assert mail.outbox == []
    assert Notification.objects.get().email_status == EmailStatus.NONE


def test_an_email_the_server_refuses_is_recorded_and_tried_again(lead, bob_has_an_address, settings, telling):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 8799, 2  # nobody listens there

    with telling:
        services.part_assign(part=make_part(Status.REVIEWED), actor=lead, assignee=bob_has_an_address)

    notification = Notification.objects.get()
    assert notification.email_status == EmailStatus.FAILED
    assert "ConnectionRefusedError" in notification.email_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notifications.notification_email_send(notification.pk)
    notification.refresh_from_db()
    assert notification.email_status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_an_event_told_twice_notifies_once(lead, fabricator, telling):
    from audit.dispatch import event_dispatch
    from partsite.models import Event

    with telling:
        services.part_assign(part=make_part(Status.REVIEWED), actor=lead, assignee=fabricator)
    event = Event.objects.get(type="part.moved")
    event.dispatched_at = None
    event.save()

    with telling:
        event_dispatch(event.pk)

    assert Notification.objects.count() == 1


def test_leads_choose_the_leads_kinds_and_others_do_not_see_them(lead, fabricator):
    assert NotificationKind.INFECTED in notifications.email_choices(lead)
    assert NotificationKind.INFECTED not in notifications.email_choices(fabricator)


def test_a_failed_conversion_tells_whoever_uploaded_the_file_with_the_reason(as_fabricator, fabricator, telling):
    from files.tests.helpers import post_file
    from files.tests.samples import box_step

    with telling:
        post_file(as_fabricator, make_part(part_number="P-00007"), box_step(solid=False), "no-solids.step")

    [notification] = Notification.objects.filter(recipient=fabricator)
    assert notification.kind == NotificationKind.CONVERSION_FAILED
    assert notification.title == "The 3D model of P-00007 R1 no-solids.step could not be made"
    assert notification.body  # the converter's reason
