"""Celery's queues: conversions and their previews travel on a queue of their own, everything else on the default one."""

import pytest

from files.tasks import (
    convert_revision,
    expire_uploads,
    render_preview,
    requeue_stalled_conversions,
)
from partsite.celery import app


@pytest.fixture
def broker(monkeypatch):
    """Kombu's in-memory broker, so the test reads back what was published and where."""
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")  # Celery prefers it to its configuration
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "memory://", False
    _forget_broker_connections()
    # The in-memory broker is shared by the whole test process: a worker test before this one
    # may have left messages it did not wait for (an upload's event, told after its conversion).
    _purge("celery", "conversions")
    try:
        yield
    finally:
        _purge("celery", "conversions")
        app.conf.broker_url, app.conf.task_always_eager = saved
        _forget_broker_connections()


def _forget_broker_connections():
    app._pool = None
    app.amqp._producer_pool = None


def _waiting(queue):
    """The names of the tasks waiting in a queue, taken off it."""
    names = []
    with app.connection_for_read() as connection, connection.SimpleQueue(queue) as waiting:
        while waiting.qsize():
            message = waiting.get(block=False)
            names.append(message.headers["task"])
            message.ack()
    return names


def _purge(*queues):
    with app.connection_for_read() as connection:
        for queue in queues:
            connection.SimpleQueue(queue).clear()


def test_conversions_and_previews_wait_on_their_own_queue_and_other_tasks_on_the_default_one(broker):
    convert_revision.delay(1)
    render_preview.delay(1)
    convert_revision.delay(2)
    requeue_stalled_conversions.delay()
    expire_uploads.delay()

    assert _waiting("conversions") == [
        "files.tasks.convert_revision", "files.tasks.render_preview", "files.tasks.convert_revision",
    ]
    assert _waiting("celery") == ["files.tasks.requeue_stalled_conversions", "files.tasks.expire_uploads"]


def test_a_worker_started_without_queues_consumes_both():
    assert sorted(app.amqp.queues) == ["celery", "conversions"]


def test_the_periodic_tasks_clean_uploads_requeue_stalled_conversions_and_tell_what_was_missed():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert tasks == {
        "files.tasks.requeue_stalled_conversions", "files.tasks.expire_uploads", "files.tasks.remove_storage_leftovers",
        "audit.tasks.tell_what_was_missed",
    }
    assert tasks <= set(app.tasks)
