"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file in the data dir.

It replaced kombu's filesystem transport, which lets a reader open a message file before its
publisher has written it: the worker then died on `JSONDecodeError` and took the message with
it (issue 18). A row in SQLite is committed whole or not at all. `make bench`'s broker section
(bench/broker.py) measures it beside Redis every run, and the rejected candidates on request;
what they did is in bench/NOTES.md. Redis stays the broker for anything bigger (CELERY_BROKER_URL).

Its URL is `partsite+sqlite:///<path>`; the transport (partsite/broker_transport.py, which
imports SQLAlchemy) is loaded only by a process that connects to it.
"""

import sqlite3
from contextlib import closing

from celery import bootsteps
from kombu.transport import TRANSPORT_ALIASES

SCHEME = "partsite"
TRANSPORT_ALIASES[SCHEME] = "partsite.broker_transport:Transport"


def url(path):
    return f"{SCHEME}+sqlite:///{path}"


def is_embedded(broker_url):
    return broker_url.startswith(f"{SCHEME}+")


def forget_delivered(broker_url):
    """Deletes the messages already handed to a worker. kombu's transport only marks a taken
    message invisible and keeps its row for ever; it never reads such a row again (a message
    given back is written anew), so they are dead weight: about 1.5 KB for each task ever sent."""
    with closing(sqlite3.connect(broker_url.split(":///", 1)[1], timeout=20)) as database, database:
        return database.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount


class ForgetDelivered(bootsteps.StartStopStep):
    """A step of the worker's consumer, on the embedded broker only: forgets delivered messages
    when the worker starts and every hour."""

    requires = {"celery.worker.consumer.tasks:Tasks"}
    EVERY_SECONDS = 3600

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_entry = None

    def include_if(self, consumer):
        return is_embedded(consumer.app.conf.broker_url)

    def start(self, consumer):
        broker_url = consumer.app.conf.broker_url
        forget_delivered(broker_url)
        self.timer_entry = consumer.timer.call_repeatedly(self.EVERY_SECONDS, forget_delivered, (broker_url,))

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop
