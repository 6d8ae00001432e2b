"""Workers tell /ready/ that they are consuming: every WORKER_HEARTBEAT_SECONDS each worker notes
the time, in the cache every process shares, under each queue it consumes. A queue whose latest
note is older than WORKER_STALE_SECONDS has no worker that answers: it died, hangs, lost the
broker or never started.

Why not Celery's `inspect ping`: it needs a broadcast, which the embedded broker cannot carry.
"""

import time

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache


def _key(queue):
    return f"partsite:worker-heartbeat:{queue}"


def note_consuming(queues):
    cache.set_many({_key(queue): time.time() for queue in queues}, timeout=None)


def silent_queues():
    """{queue: seconds since a worker last consumed it, or None if none ever did} for each
    queue that no worker has consumed lately; empty when every queue has a worker."""
    queues = list(settings.CELERY_TASK_QUEUES)
    notes = cache.get_many([_key(queue) for queue in queues])
    now = time.time()
    silent = {}
    for queue in queues:
        last = notes.get(_key(queue))
        if last is None or now - last > settings.WORKER_STALE_SECONDS:
            silent[queue] = None if last is None else round(now - last)
    return silent


class Heartbeat(bootsteps.StartStopStep):
    """A step of the worker's consumer: it runs while the worker consumes, and stops when the
    consumer does (the broker went away, the worker is shutting down)."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.timer_entry = None

    def start(self, consumer):
        queues = sorted(queue.name for queue in consumer.task_consumer.queues)
        note_consuming(queues)
        self.timer_entry = consumer.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, note_consuming, (queues,),
        )

    def stop(self, consumer):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop
