"""A real Celery worker, fed through a real broker, converting uploads one after another.

The broker is Redis when CELERY_BROKER_URL points at one (as in CI), each test process on a
database of its own so that no worker takes another process's tasks, and Kombu's in-memory
transport otherwise.
"""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker

from files.models import Revision
from files.tests import corpus
from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts.tests.factories import make_part
from partsite.celery import app

WAIT_SECONDS = 60


@pytest.fixture
def worker(settings, monkeypatch):
    broker = "memory://"
    if settings.CELERY_BROKER_URL.startswith("redis"):
        process = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
        broker = f"{settings.CELERY_BROKER_URL.rsplit('/', 1)[0]}/{2 + process % 14}"
        monkeypatch.setenv("CELERY_BROKER_URL", broker)  # Celery prefers it to its configuration
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = broker, False
    _forget_broker_connections()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=WAIT_SECONDS) as running:
            yield running
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        _forget_broker_connections()


def _forget_broker_connections():
    """Celery keeps the pools of the broker it first used; the next publish looks them up again.

    Kombu shares pools between users of the same broker URL, so they are left open.
    """
    app._pool = None
    app.amqp._producer_pool = None


def wait_for_conversions(ids):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        statuses = dict(Revision.objects.filter(pk__in=ids).values_list("pk", "conversion_status"))
        if all(status in ("ready", "failed") for status in statuses.values()):
            return [statuses[pk] for pk in ids]
        time.sleep(0.1)
    pytest.fail(f"conversions did not finish in {WAIT_SECONDS} s: {statuses}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_converts_what_is_uploaded_one_after_another(worker, as_fabricator):
    part = make_part()

    ids = [
        post_file(as_fabricator, part, box_step(10, 10, 10), "first.step").json()["id"],
        post_file(as_fabricator, part, box_step(solid=False), "no-solids.step").json()["id"],
        post_file(as_fabricator, part, box_step(20, 10, 10), "third.step").json()["id"],
    ]

    assert wait_for_conversions(ids) == ["ready", "failed", "ready"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_carries_on_after_a_file_that_crashes_the_converter(worker, as_fabricator):
    part = make_part()
    crashing = corpus.bad_file("del1_direction_kicad_r0603.stp").read_bytes()

    ids = [
        post_file(as_fabricator, part, crashing, "segfaults.stp").json()["id"],
        post_file(as_fabricator, part, box_step(), "after-the-crash.step").json()["id"],
    ]

    assert wait_for_conversions(ids) == ["failed", "ready"]
    assert "segmentation fault" in Revision.objects.get(pk=ids[0]).conversion_error
