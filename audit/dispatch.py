"""Telling what happened: each event of the outbox (partsite.events), fanned out once.

Who hears of what is decided here and nowhere else:

    event                         who is notified                             kind
    part.moved, assign            the assignee                                assigned
    part.moved, approve           whoever created the part                    approved
    part.moved, send_back         whoever created it, and whoever had it      sent_back
    part.moved, mark_incorrect    whoever had made it, and whoever created it  marked_incorrect
    part.moved, complete          the part's followers                        followed_completed
    revision.conversion_failed    whoever uploaded the file                   conversion_failed
    revision.infected             the leads                                   infected

Nobody is told of what they did themselves. Every event also goes to each webhook endpoint
that wants its type (audit.webhooks). Dispatching claims the event under a lock and marks it
dispatched in the same transaction as the notifications and deliveries it writes, so an
event queued twice is told once.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit import webhooks
from audit.models import Follow, NotificationKind
from audit.notifications import leads, notify
from audit.queueing import dispatch_queue
from parts.lifecycle import Action
from parts.models import Part
from partsite.models import Event, EventType

# An event still undispatched this long after it was recorded lost its message; the sweep queues it again.
DISPATCH_GRACE = timedelta(minutes=1)


def event_dispatch(event_id):
    """Notify and deliver one event, unless it already was; returns the event, or None."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id, dispatched_at__isnull=True).first()
        if event is None:
            return None
        _notify(event)
        webhooks.deliveries_create(event)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
    return event


def events_requeue_undispatched():
    """Queue again the events whose message was lost. Returns how many."""
    ids = list(Event.objects.filter(
        dispatched_at__isnull=True, created_at__lt=timezone.now() - DISPATCH_GRACE,
    ).values_list("pk", flat=True))
    for event_id in ids:
        dispatch_queue(event_id)
    return len(ids)


def _users(*usernames):
    wanted = [name for name in usernames if name]
    return list(get_user_model().objects.filter(username__in=wanted)) if wanted else []


def _notify(event):
    part = Part.objects.select_related("created_by").filter(pk=event.part_id).first()
    if part is None:
        return  # the part is gone: there is nothing left to look at
    told = _MOVES.get(event.data.get("action")) if event.type == EventType.PART_MOVED else _OTHERS.get(event.type)
    if told is None:
        return
    kind, recipients, title, body = told(event, part)
    recipients = [user for user in recipients if user is not None and user.pk != event.actor_id]
    if recipients:
        notify(
            recipients=recipients, kind=kind, title=title, body=body, part=part, event=event,
            link=reverse("part-detail", args=[part.pk]),
        )


def _named(part):
    return f"{part.part_number} {part.name}"


def _by(event):
    return event.data.get("actor") or "Partsite"


def _reason(event):
    return f"Reason: {event.data['note']}" if event.data.get("note") else ""


def _assigned(event, part):
    return (NotificationKind.ASSIGNED, _users(event.data["part"]["assignee"]),
            f"{_named(part)} was assigned to you", f"{_by(event)} assigned it to you.")


def _approved(event, part):
    note = f" Note: {event.data['note']}" if event.data.get("note") else ""
    return (NotificationKind.APPROVED, [part.created_by], f"{_named(part)} was approved",
            f"{_by(event)} approved it; it waits in the {event.data['part']['category']} queue.{note}")


def _sent_back(event, part):
    return (NotificationKind.SENT_BACK, [part.created_by, *_users(event.data.get("previous_assignee"))],
            f"{_named(part)} was sent back to review", f"{_by(event)} sent it back. {_reason(event)}".strip())


def _marked_incorrect(event, part):
    return (NotificationKind.MARKED_INCORRECT, [*_users(event.data.get("previous_assignee")), part.created_by],
            f"{_named(part)} was marked as made incorrectly",
            f"{_by(event)} sent it back to its queue to be made again. {_reason(event)}".strip())


def _completed(event, part):
    followers = [follow.user for follow in Follow.objects.filter(part=part).select_related("user")]
    note = f" {event.data['note']}." if event.data.get("note") else ""
    return (NotificationKind.FOLLOWED_COMPLETED, followers, f"{_named(part)} was completed",
            f"{_by(event)} completed it.{note}")


def _conversion_failed(event, part):
    revision = event.data["revision"]
    return (NotificationKind.CONVERSION_FAILED, _users(revision["uploaded_by"]),
            f"The 3D model of {part.part_number} {revision['label']} {revision['filename']} could not be made",
            revision["conversion_error"])


def _infected(event, part):
    revision = event.data["revision"]
    return (NotificationKind.INFECTED, list(leads()),
            f"{part.part_number} {revision['label']} {revision['filename']} is infected and was quarantined",
            f"The malware scanner found {event.data.get('signature') or 'malware'} in the file uploaded by "
            f"{revision['uploaded_by'] or 'someone since deleted'}. It is never served; delete it.")


_MOVES = {
    Action.ASSIGN: _assigned,
    Action.APPROVE: _approved,
    Action.SEND_BACK: _sent_back,
    Action.MARK_INCORRECT: _marked_incorrect,
    Action.COMPLETE: _completed,
}
_OTHERS = {
    EventType.REVISION_CONVERSION_FAILED: _conversion_failed,
    EventType.REVISION_INFECTED: _infected,
}
