"""Telling people: notifications in their inbox and, as each person chooses, by email.

Every write to notifications, email choices and follows is here. An email is never sent
inside a request: `notify` records the notification, and the task audit.tasks.
send_notification_email sends it once that commits (Django's email backend: the console
unless EMAIL_HOST names an SMTP server).
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import LEAD_KINDS, EmailChoice, EmailStatus, Follow, Notification, NotificationKind
from audit.queueing import email_queue
from partsite.errors import Invalid
from partsite.events import absolute_url
from partsite.roles import Role, is_lead

logger = logging.getLogger(__name__)

# An email still waiting this long lost its message (the broker was down); the sweep queues it again.
EMAIL_PENDING_REQUEUE = timedelta(minutes=10)


class EmailNotSent(Exception):
    """The email backend refused or could not be reached; the task tries again later."""


def notify(*, recipients, kind, title, body="", link="", part=None, event=None):
    """Tell each active recipient once, and queue an email to those who want this kind by email.

    Returns the notifications written.
    """
    written = []
    for recipient in {user.pk: user for user in recipients if user is not None and user.is_active}.values():
        by_email = bool(recipient.email) and wants_email(recipient, kind)
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    recipient=recipient, kind=kind, title=title[:300], body=body, link=link, part=part,
                    event=event, email_status=EmailStatus.PENDING if by_email else EmailStatus.NONE,
                )
        except IntegrityError:  # this event already told them
            continue
        if by_email:
            email_queue(notification.pk)
        written.append(notification)
    return written


def leads():
    """The active leads: the lead group's members and the superusers, who act as leads."""
    return get_user_model().objects.filter(
        Q(groups__name=Role.LEAD) | Q(is_superuser=True), is_active=True,
    ).distinct()


def kinds_for(user):
    """The kinds of notification this person can get: the leads' own kinds only for leads."""
    return [kind for kind in NotificationKind if is_lead(user) or kind not in LEAD_KINDS]


def wants_email(user, kind):
    choice = EmailChoice.objects.filter(user=user, kind=kind).values_list("email", flat=True).first()
    return True if choice is None else choice


def email_choices(user):
    """{kind: whether it comes by email} for every kind this person can get."""
    chosen = dict(EmailChoice.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, True) for kind in kinds_for(user)}


def email_choices_set(*, user, choices):
    """Record which kinds come by email; `choices` is {kind: bool}, for any of the person's kinds."""
    allowed = set(kinds_for(user))
    unknown = set(choices) - allowed
    if unknown:
        raise Invalid(f"Unknown kinds of notification: {', '.join(sorted(unknown))}.", field="email")
    with transaction.atomic():
        for kind, email in choices.items():
            EmailChoice.objects.update_or_create(user=user, kind=kind, defaults={"email": bool(email)})
    return email_choices(user)


def notification_mark_read(*, user, notification_id):
    """Mark one of the person's own notifications read; someone else's is as good as missing."""
    return bool(Notification.objects.filter(pk=notification_id, recipient=user, read_at__isnull=True).update(
        read_at=timezone.now(),
    ))


def notifications_mark_all_read(*, user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def unread_count(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def part_follow(*, user, part):
    """Hear when the part is completed. Following twice is following."""
    Follow.objects.get_or_create(user=user, part=part)


def part_unfollow(*, user, part):
    Follow.objects.filter(user=user, part=part).delete()


def notification_email_send(notification_id):
    """Send a notification's email if it is waiting (or its last try failed). Raises EmailNotSent to be retried."""
    claimed = Notification.objects.filter(
        pk=notification_id, email_status__in=[EmailStatus.PENDING, EmailStatus.FAILED],
    ).update(email_status=EmailStatus.SENDING)
    if not claimed:
        return
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    text = notification.body
    if notification.link:
        text = f"{text}\n\n{absolute_url(notification.link)}".strip()
    text += "\n\nYou chose to get these by email; change that on your inbox's settings page."
    try:
        send_mail(
            subject=f"[Partsite] {notification.title}", message=text, from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.recipient.email],
        )
    except (OSError, smtplib.SMTPException) as error:
        reason = f"{type(error).__name__}: {error}"
        Notification.objects.filter(pk=notification_id).update(email_status=EmailStatus.FAILED, email_error=reason)
        logger.warning("the email of notification %s was not sent: %s", notification_id, reason)
        raise EmailNotSent(reason) from error
    Notification.objects.filter(pk=notification_id).update(email_status=EmailStatus.SENT, email_error="")


def emails_requeue_pending():
    """Queue again the emails whose message was lost. Returns how many."""
    ids = list(Notification.objects.filter(
        email_status=EmailStatus.PENDING, created_at__lt=timezone.now() - EMAIL_PENDING_REQUEUE,
    ).values_list("pk", flat=True))
    for notification_id in ids:
        email_queue(notification_id)
    return len(ids)
