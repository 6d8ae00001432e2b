"""Queueing the telling: dispatches, emails and webhook deliveries, by task name.

audit.tasks calls the modules that decide what to tell, so they cannot import it back; they
queue its tasks through the Celery app by name instead, which every process knows
(partsite.apps discovers the tasks once Django is ready), so eager mode and routing apply.
Each is queued once the transaction that made its row commits (at once outside one); `robust` because a broker that
is down must not undo what was recorded: the periodic sweep (audit.tasks.tell_what_was_missed)
queues it again.
"""

from django.db import transaction

from partsite.celery import app
from partsite.events import DISPATCH

SEND_EMAIL = "audit.tasks.send_notification_email"
DELIVER = "audit.tasks.deliver_webhook"


def email_queue(notification_id):
    transaction.on_commit(lambda: app.tasks[SEND_EMAIL].delay(notification_id), robust=True)


def delivery_queue(delivery_id, *, countdown=None):
    transaction.on_commit(
        lambda: app.tasks[DELIVER].apply_async((delivery_id,), countdown=countdown), robust=True,
    )


def dispatch_queue(event_id):
    transaction.on_commit(lambda: app.tasks[DISPATCH].delay(event_id), robust=True)
