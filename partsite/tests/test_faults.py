"""Faults injected while clients work: the cache, the broker, the database and the worker fail
mid-work. For each: what the client sees (it carries on, or a JSON 503 naming what is down),
that nothing acknowledged is lost or left half-done, and that `verify_storage` is clean after
recovery. The storage faults are in files/tests/test_faults.py.

They run on whatever the test run is configured with: the embedded set-up (SQLite, the SQLite
broker, local disk) under `make test`, PostgreSQL + Redis in CI.
"""

import os
import signal
import time

import kombu.exceptions
import pytest
from django.core.management import call_command
from django.db import OperationalError

from files import conversion, services
from files.models import Revision, Upload
from files.queueing import CONVERT
from files.tests.corpus import real_file
from files.tests.helpers import fetch, post_file, stored_keys
from files.tests.samples import box_step
from parts.tests.factories import make_part
from partsite import outages
from partsite.celery import app
from partsite.testing import WorkerProcess

SLOW_TO_CONVERT = "nist_ctc02_ap242e2.stp"  # about 4 s: long enough to be killed mid-way


class PeriodicPass:
    """A periodic task's pass, run now and then every `every_seconds` while a test waits, as beat would."""

    def __init__(self, function, every_seconds):
        self.function, self.every_seconds, self.due = function, every_seconds, 0.0

    def run_when_due(self):
        if time.monotonic() >= self.due:
            self.function()
            self.due = time.monotonic() + self.every_seconds
        return False


def verify_storage_is_clean():
    import io

    findings = io.StringIO()
    try:
        call_command("verify_storage", "--no-progress", stdout=findings)
    except Exception as error:
        raise AssertionError(f"{error}\n{findings.getvalue()}") from None


@pytest.fixture
def uploader(fabricator):
    from conftest import client_for

    client = client_for(fabricator)
    client.raise_request_exception = False  # as in production: handler500 answers
    return client


# The cache


@pytest.mark.django_db
def test_with_the_cache_down_files_still_go_in_and_come_out_and_ready_names_it(settings, uploader, client):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    part = make_part()

    uploaded = post_file(uploader, part, box_step())
    assert uploaded.status_code == 201, uploaded.content
    status, _, body = fetch(uploader, f"/api/revisions/{uploaded.json()['id']}/download/")
    listed = uploader.get(f"/api/parts/{part.pk}/")

    assert (status, body) == (200, box_step())
    assert listed.status_code == 200
    ready = client.get("/ready/")
    assert ready.status_code == 503 and "cache" in ready.json()["failing"]


# The broker


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing fails as kombu fails when the broker refuses connections."""
    task = app.tasks[CONVERT]

    def refused(*args, **kwargs):
        raise kombu.exceptions.OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(task, "delay", refused)
    monkeypatch.setattr(task, "apply_async", refused)
    return monkeypatch


@pytest.mark.django_db
def test_an_upload_while_the_broker_is_down_is_kept_and_converted_once_it_is_back(
    uploader, broker_down, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = post_file(uploader, make_part(), box_step())

    assert uploaded.status_code == 201, uploaded.content
    revision = Revision.objects.get(pk=uploaded.json()["id"])
    assert revision.conversion_status == "pending"

    broker_down.undo()
    settings.CONVERSION_PENDING_REQUEUE_MINUTES = 0
    assert conversion.conversions_requeue_stalled() == 1  # the beat task, once the broker is back

    revision.refresh_from_db()
    assert revision.conversion_status == "ready"
    verify_storage_is_clean()


# The database


@pytest.mark.django_db
def test_the_database_failing_while_an_upload_completes_is_a_503_and_the_upload_can_be_completed_again(
    uploader, monkeypatch
):
    content = box_step(padding=1000)
    part = make_part()
    started = uploader.post(
        f"/api/parts/{part.pk}/uploads/", {"filename": "a.step", "size": len(content)}, format="json"
    ).json()
    from files.tests.helpers import send_part

    assert send_part(uploader, started["parts"][0], content) == 200
    real_record = services._revision_record

    def database_down(**kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(services, "_revision_record", database_down)
    down = uploader.post(f"/api/uploads/{started['id']}/complete/")
    monkeypatch.setattr(services, "_revision_record", real_record)

    assert down.status_code == 503
    assert down.json()["unavailable"] == "database"
    assert down["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    assert Upload.objects.get(pk=started["id"]).status == "open"
    again = uploader.post(f"/api/uploads/{started['id']}/complete/")
    assert again.status_code == 201, again.content
    verify_storage_is_clean()


@pytest.mark.django_db
def test_the_database_failing_mid_conversion_leaves_no_orphan_model_and_the_conversion_completes(
    uploader, monkeypatch
):
    uploaded = post_file(uploader, make_part(), box_step())
    revision_id = uploaded.json()["id"]
    real_record, calls = conversion.event_record, []

    def down_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(conversion, "event_record", down_once)
    app.tasks[CONVERT].apply((revision_id,))

    revision = Revision.objects.get(pk=revision_id)
    assert revision.conversion_status == "ready"
    assert [key for key in stored_keys() if key.startswith("models/")] == [revision.glb_key]
    verify_storage_is_clean()


# The worker


def _start_worker(data_dir, settings):
    data_dir.mkdir(exist_ok=True)
    settings.MEDIA_ROOT = data_dir / "media"
    return WorkerProcess(data_dir).start()


def _claimed_pid(revision_id):
    claimed_by = Revision.objects.get(pk=revision_id).conversion_claimed_by
    return int(claimed_by.split(":")[1]) if claimed_by else None


def _status(revision_id):
    return Revision.objects.get(pk=revision_id).conversion_status


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_conversion_survives_its_worker_process_and_then_its_whole_worker_being_killed(uploader, settings, tmp_path):
    content = real_file(SLOW_TO_CONVERT).read_bytes()
    first = _start_worker(tmp_path / "worker", settings)
    try:
        with first.publishing():
            revision_id = post_file(uploader, make_part(), content, SLOW_TO_CONVERT).json()["id"]
            first.wait_for(lambda: _claimed_pid(revision_id), "the conversion starting")
            killed = _claimed_pid(revision_id)
            os.kill(killed, signal.SIGKILL)  # the pool process, as the kernel's OOM killer would
            # Celery hands the task back (acks_late, reject_on_worker_lost) and the claim of a
            # process that is gone is taken again at once.
            first.wait_for(
                lambda: Revision.objects.get(pk=revision_id).conversion_attempts == 2, "the conversion starting again",
                timeout=300,
            )
            assert _claimed_pid(revision_id) != killed
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)  # now the whole worker, mid-conversion
        first.process.wait()
    assert _status(revision_id) in ("running", "pending", "ready")
    first.log.rename(first.log.with_name("first-worker.log"))

    second = WorkerProcess(tmp_path / "worker").start()
    try:
        with second.publishing():
            # What beat runs every 20 s; with no wait for `pending` ones, as it would do later: an
            # attempt interrupted by the machine's load is queued again with a countdown, on the
            # dead worker's broker prefix when that is Redis.
            settings.CONVERSION_PENDING_REQUEUE_MINUTES = 0
            # Beat's pass, repeated as beat does: a process killed in the middle of disk I/O on a
            # loaded machine may not be gone yet at the first pass.
            passes = PeriodicPass(conversion.conversions_requeue_stalled, every_seconds=5)
            second.wait_for(
                lambda: passes.run_when_due() or _status(revision_id) in ("ready", "failed"), "the conversion",
                timeout=300,
            )
    finally:
        second.stop()
    revision = Revision.objects.get(pk=revision_id)
    assert revision.conversion_status == "ready", revision.conversion_error
    verify_storage_is_clean()
