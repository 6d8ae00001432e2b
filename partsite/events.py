"""Recording what happened, for notifications and webhooks to tell: a transactional outbox.

A service that makes a change others may want to hear of calls `event_record` inside its own
transaction, so the event row commits with the change or not at all. Once it commits, the
event's dispatch is queued by task name (audit.tasks.dispatch_event): the apps that make
changes never import the app that tells of them. A message lost on the way (the broker was
down at commit time) is caught by a periodic sweep that queues every event still
undispatched, and dispatching one twice tells it once.
"""

from django.conf import settings
from django.db import transaction

from partsite.celery import app
from partsite.models import Event, EventType  # noqa: F401  (the services name event types from here)

DISPATCH = "audit.tasks.dispatch_event"


def event_record(event_type, *, actor=None, part=None, revision=None, **facts):
    """Write an event about `part` (and `revision`), with `facts`, as part of the caller's transaction.

    `part` and `revision` are described by their own `event_data()` as they are now; `facts`
    are whatever else the event says (a move's statuses and reason, a conversion's error).
    """
    data = {
        "part": part.event_data() if part is not None else None,
        **({"revision": revision.event_data()} if revision is not None else {}),
        "actor": actor.get_username() if actor is not None else None,
        **facts,
    }
    event = Event.objects.create(
        type=EventType(event_type), actor=actor, data=data,
        part_id=part.pk if part is not None else None, revision_id=revision.pk if revision is not None else None,
    )
    # robust: a broker that is down must not undo the change; the sweep queues the event later.
    transaction.on_commit(lambda: app.tasks[DISPATCH].delay(event.pk), robust=True)
    return event


def absolute_url(path):
    """A link for people and other systems outside the site: SITE_URL and the path."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"
