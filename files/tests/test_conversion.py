"""STEP to GLB conversion: queued on upload, run in a child process, its outcome kept on the revision."""

import contextlib
import os
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from files import conversion
from files.converter import NO_TRIANGLES
from files.models import ConversionStatus, Revision
from files.storage import vault
from files.tasks import convert_revision, render_preview, requeue_stalled_conversions
from files.tests.helpers import fetch, post_file, stored_keys
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def converted(as_fabricator, django_capture_on_commit_callbacks):
    """Upload a file and run the conversion it queues; returns the revision's JSON afterwards."""

    def upload(content, filename="block.step", part=None, client=as_fabricator):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(client, part or make_part(), content, filename)
        assert response.status_code == 201, response.json()
        return client.get(f"/api/revisions/{response.json()['id']}/").json()

    return upload


@pytest.mark.usefixtures("storage_backend")
def test_an_uploaded_step_file_becomes_a_3d_model_with_its_size_in_millimetres(converted, as_viewer):
    revision = converted(box_step(40, 20, 5))

    assert revision["conversion_status"] == "ready", revision["conversion_error"]
    assert (revision["triangles"], revision["bbox_mm"]) == (12, [40.0, 20.0, 5.0])
    assert revision["conversion_attempts"] == 1
    assert revision["conversion_seconds"] > 0
    assert revision["conversion_started_at"] <= revision["conversion_finished_at"]
    status, headers, body = fetch(as_viewer, revision["model_url"])
    assert status == 200
    assert body[:4] == b"glTF"
    assert {name.lower(): value for name, value in headers.items()}["content-type"] == "model/gltf-binary"
    assert len(stored_keys()) == 4  # the STEP file, its model, its preview and the DXF of the plate it is


def test_a_model_in_metres_is_measured_in_millimetres(converted):
    revision = converted(box_step(0.04, 0.02, 0.005, unit=None))

    assert revision["bbox_mm"] == [40.0, 20.0, 5.0]


def test_the_model_is_not_there_until_the_conversion_is_ready(as_fabricator):
    revision = post_file(as_fabricator, make_part(), box_step()).json()  # queued, never run

    response = as_fabricator.get(f"/api/revisions/{revision['id']}/model/")

    assert response.status_code == 409
    assert response.json()["conversion_status"] == "pending"
    assert revision["model_url"] is None


def test_a_failed_conversion_says_why_on_the_revision_and_the_model(converted, as_viewer, settings):
    settings.CONVERSION_TIMEOUT_SECONDS = 0.001

    revision = converted(box_step())

    assert revision["conversion_status"] == "failed"
    assert revision["conversion_error"] == "timed out after 0.001 s"
    response = as_viewer.get(f"/api/revisions/{revision['id']}/model/")
    assert response.status_code == 409
    assert response.json()["conversion_error"] == "timed out after 0.001 s"
    assert "timed out" in response.json()["detail"]


def test_a_model_without_solids_fails_as_having_no_triangles(converted):
    revision = converted(box_step(solid=False))

    assert revision["conversion_status"] == "failed"
    assert revision["conversion_error"] == NO_TRIANGLES


def test_drawings_are_not_converted(converted, as_viewer):
    from files.tests.samples import pdf_bytes

    revision = converted(pdf_bytes(), "drawing.pdf")

    assert revision["conversion_status"] == "none"
    assert as_viewer.get(f"/api/revisions/{revision['id']}/model/").status_code == 409


def _revision(as_fabricator, **fields):
    response = post_file(as_fabricator, make_part(), box_step())
    Revision.objects.filter(pk=response.json()["id"]).update(**fields)
    return Revision.objects.get(pk=response.json()["id"])


def test_a_conversion_whose_worker_was_lost_runs_again(as_fabricator):
    long_ago = timezone.now() - timedelta(hours=1)
    revision = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=long_ago,
        conversion_attempts=1,
    )

    convert_revision(revision.pk)

    revision.refresh_from_db()
    assert (revision.conversion_status, revision.conversion_attempts) == ("ready", 2)


def test_a_file_that_keeps_killing_its_worker_fails_after_the_last_attempt(as_fabricator, settings):
    long_ago = timezone.now() - timedelta(hours=1)
    revision = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=long_ago,
        conversion_attempts=settings.CONVERSION_MAX_ATTEMPTS,
    )

    convert_revision(revision.pk)
    convert_revision(revision.pk)

    revision.refresh_from_db()
    assert revision.conversion_status == "failed"
    assert revision.conversion_error.startswith("Gave up after 3 attempts")
    assert revision.conversion_attempts == 3


def test_a_conversion_that_is_running_is_not_started_twice(as_fabricator):
    revision = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=timezone.now(),
        conversion_attempts=1,
    )

    convert_revision(revision.pk)

    revision.refresh_from_db()
    assert (revision.conversion_status, revision.conversion_attempts) == ("running", 1)


def test_a_finished_conversion_is_not_run_again_by_a_repeated_message(converted):
    revision = converted(box_step())

    convert_revision(revision["id"])

    assert Revision.objects.get(pk=revision["id"]).conversion_attempts == 1


def test_a_deleted_revision_is_skipped_quietly():
    assert conversion.revision_convert(999999) is None


def test_storage_trouble_is_tried_again_and_the_conversion_completes(as_fabricator, monkeypatch):
    revision = _revision(as_fabricator)
    real_chunks, calls = vault().chunks, []

    def down_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OSError("storage is down")
        return real_chunks(*args, **kwargs)

    monkeypatch.setattr(vault(), "chunks", down_once)
    convert_revision(revision.pk)  # tasks run at once here: the retry queued after a pause runs now

    revision.refresh_from_db()
    assert (revision.conversion_status, revision.conversion_attempts, revision.conversion_error) == ("ready", 2, "")


def test_storage_down_for_good_gives_up_after_the_last_attempt_saying_why(as_fabricator, monkeypatch, settings):
    revision = _revision(as_fabricator)

    def unreachable(*args, **kwargs):
        raise OSError("storage is down")

    monkeypatch.setattr(vault(), "chunks", unreachable)
    convert_revision(revision.pk)

    revision.refresh_from_db()
    assert revision.conversion_status == "failed"
    assert revision.conversion_attempts == settings.CONVERSION_MAX_ATTEMPTS
    assert revision.conversion_error == "Gave up after 3 attempts: OSError: storage is down"


def _dead_pid():
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_a_conversion_whose_worker_process_died_is_taken_up_again_at_once(as_fabricator):
    revision = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=timezone.now(),
        conversion_attempts=1, conversion_claimed_by=f"{socket.gethostname()}:{_dead_pid()}:1",
    )

    convert_revision(revision.pk)  # the message redelivered when the worker process died

    revision.refresh_from_db()
    assert (revision.conversion_status, revision.conversion_attempts) == ("ready", 2)


def test_the_requeue_task_queues_a_conversion_whose_worker_process_died(as_fabricator, monkeypatch):
    dead = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=timezone.now(),
        conversion_attempts=1, conversion_claimed_by=f"{socket.gethostname()}:{_dead_pid()}:1",
    )
    alive = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=timezone.now(),
        conversion_attempts=1, conversion_claimed_by=f"{socket.gethostname()}:{os.getppid()}:1",
    )
    elsewhere = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=timezone.now(),
        conversion_attempts=1, conversion_claimed_by="another-machine:1:1",
    )
    queued = []
    monkeypatch.setattr(convert_revision, "delay", queued.append)

    conversion.conversions_requeue_stalled()

    assert queued == [dead.pk]
    assert alive.pk not in queued and elsewhere.pk not in queued


def test_a_retry_whose_message_was_lost_with_its_worker_is_queued_again_within_minutes(as_fabricator, monkeypatch):
    released = dict(conversion_attempts=1, conversion_error="attempt 1: File storage is not answering.")
    overdue = _revision(as_fabricator, conversion_queued_at=timezone.now() - timedelta(minutes=3), **released)
    due_soon = _revision(as_fabricator, conversion_queued_at=timezone.now() - timedelta(seconds=30), **released)
    queued = []
    monkeypatch.setattr(convert_revision, "delay", queued.append)

    conversion.conversions_requeue_stalled()

    assert queued == [overdue.pk]
    assert due_soon.pk not in queued


def test_the_requeue_task_waits_out_a_database_outage(monkeypatch):
    calls = []

    def database_down_once():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not connect to server: Connection refused")
        return 0

    monkeypatch.setattr(conversion, "conversions_requeue_stalled", database_down_once)

    requeue_stalled_conversions.apply()

    assert len(calls) == 2


def test_a_database_outage_when_the_outcome_is_written_leaves_no_orphan_model(as_fabricator, monkeypatch):
    revision = _revision(as_fabricator)
    real_record, calls = conversion.event_record, []

    def database_down_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(conversion, "event_record", database_down_once)
    convert_revision.apply((revision.pk,))  # as a worker runs it: retried while the database is down

    revision.refresh_from_db()
    assert revision.conversion_status == "ready"
    models = [key for key in stored_keys() if key.startswith("models/")]
    assert models == [revision.glb_key]


def test_temp_folders_left_by_a_killed_conversion_are_removed_when_the_next_one_starts(as_fabricator, settings):
    temp = settings.FILE_UPLOAD_TEMP_DIR
    left_behind, running = temp / "convert-killed", temp / "convert-running"
    for folder in (left_behind, running):
        folder.mkdir()
        (folder / "model.step").write_bytes(b"x" * 1000)
    long_ago = time.time() - settings.CONVERSION_TIMEOUT_SECONDS - 3600
    os.utime(left_behind, (long_ago, long_ago))

    convert_revision(_revision(as_fabricator).pk)

    assert not left_behind.exists()
    assert running.exists()


def test_lost_conversions_are_queued_again(as_fabricator, monkeypatch):
    long_ago = timezone.now() - timedelta(hours=1)
    lost_message = _revision(as_fabricator, conversion_queued_at=long_ago)
    lost_worker = _revision(
        as_fabricator, conversion_status=ConversionStatus.RUNNING, conversion_started_at=long_ago,
        conversion_attempts=1,
    )
    waiting = _revision(as_fabricator)
    queued = []
    monkeypatch.setattr(convert_revision, "delay", queued.append)

    assert conversion.conversions_requeue_stalled() == 2

    assert sorted(queued) == sorted([lost_message.pk, lost_worker.pk])
    assert waiting.pk not in queued


def test_a_conversion_left_pending_past_the_setting_is_queued_again_and_converted_once(as_fabricator, settings):
    # The upload's message never left (no on_commit callbacks run here): as if the broker was down.
    settings.CONVERSION_PENDING_REQUEUE_MINUTES = 10
    stuck = _revision(as_fabricator, conversion_queued_at=timezone.now() - timedelta(minutes=11))
    recent = _revision(as_fabricator, conversion_queued_at=timezone.now() - timedelta(minutes=9))

    requeue_stalled_conversions()

    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert (stuck.conversion_status, stuck.conversion_attempts) == ("ready", 1)
    assert (recent.conversion_status, recent.conversion_attempts) == ("pending", 0)
    assert conversion.conversions_requeue_stalled() == 0
    convert_revision(stuck.pk)  # a second message for the same revision, as a double enqueue would give
    stuck.refresh_from_db()
    assert (stuck.conversion_status, stuck.conversion_attempts) == ("ready", 1)


def test_a_lead_can_start_a_conversion_again(converted, as_lead, settings, django_capture_on_commit_callbacks):
    settings.CONVERSION_TIMEOUT_SECONDS = 0.001
    revision = converted(box_step())
    settings.CONVERSION_TIMEOUT_SECONDS = 60

    with django_capture_on_commit_callbacks(execute=True):
        response = as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    assert response.status_code == 200
    again = as_lead.get(f"/api/revisions/{revision['id']}/").json()
    assert (again["conversion_status"], again["conversion_error"], again["conversion_attempts"]) == ("ready", "", 1)


def test_a_new_conversion_replaces_the_old_model(converted, as_lead, django_capture_on_commit_callbacks):
    revision = converted(box_step())
    old_model = Revision.objects.get(pk=revision["id"]).glb_key

    with django_capture_on_commit_callbacks(execute=True):
        as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    new_model = Revision.objects.get(pk=revision["id"]).glb_key
    assert new_model != old_model
    assert old_model not in stored_keys() and new_model in stored_keys()


@pytest.mark.parametrize("client", ["as_fabricator", "as_viewer"])
def test_only_a_lead_may_start_a_conversion_again(converted, request, client):
    revision = converted(box_step())

    response = request.getfixturevalue(client).post(f"/api/revisions/{revision['id']}/reconvert/")

    assert response.status_code == 403


def test_a_conversion_already_waiting_is_not_queued_twice(as_fabricator, as_lead):
    revision = post_file(as_fabricator, make_part(), box_step()).json()

    response = as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    assert response.status_code == 409
    assert "already waiting" in response.json()["detail"]


# The preview drawn after each conversion


def _image(body):
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


@pytest.mark.usefixtures("storage_backend")
def test_a_converted_revision_gets_a_png_preview_of_its_part(converted, as_viewer):
    revision = converted(box_step(40, 20, 5))

    assert (revision["preview_url"] is not None, revision["preview_error"]) == (True, "")
    status, headers, body = fetch(as_viewer, revision["preview_url"])
    assert status == 200
    image = _image(body)
    assert image.shape == (360, 480, 3)
    assert len({tuple(colour) for colour in image.reshape(-1, 3)}) > 3, "the part is drawn, shaded"


def test_the_model_is_ready_before_its_preview_is_drawn(as_fabricator, django_capture_on_commit_callbacks):
    revision = post_file(as_fabricator, make_part(), box_step()).json()

    with django_capture_on_commit_callbacks() as queued:
        conversion.revision_convert(revision["id"])
    ready = as_fabricator.get(f"/api/revisions/{revision['id']}/").json()
    for task in queued:
        task()
    drawn = as_fabricator.get(f"/api/revisions/{revision['id']}/").json()

    assert (ready["conversion_status"], ready["model_url"] is not None, ready["preview_url"]) == ("ready", True, None)
    assert (drawn["preview_url"] is not None, drawn["preview_error"]) == (True, "")


def test_the_preview_task_draws_once_and_skips_revisions_it_cannot_draw(converted):
    from files.tests.samples import pdf_bytes

    drawn = Revision.objects.get(pk=converted(box_step())["id"])
    waiting = Revision.objects.get(pk=converted(box_step(), part=make_part())["id"])
    Revision.objects.filter(pk=waiting.pk).update(conversion_status=ConversionStatus.PENDING, preview_key="")
    drawing = converted(pdf_bytes(), "drawing.pdf")
    keys = stored_keys()

    for revision_id in (drawn.pk, waiting.pk, drawing["id"], 999999):
        render_preview.delay(revision_id)

    assert Revision.objects.get(pk=drawn.pk).preview_key == drawn.preview_key
    assert Revision.objects.get(pk=waiting.pk).preview_key == ""
    assert stored_keys() == keys


def test_a_preview_whose_message_was_lost_is_drawn_by_the_periodic_requeue(converted, settings):
    settings.CONVERSION_PENDING_REQUEUE_MINUTES = 10
    lost = converted(box_step())
    recent = converted(box_step(), part=make_part())
    Revision.objects.filter(pk__in=[lost["id"], recent["id"]]).update(preview_key="")
    Revision.objects.filter(pk=lost["id"]).update(conversion_finished_at=timezone.now() - timedelta(minutes=11))

    requeue_stalled_conversions()

    assert Revision.objects.get(pk=lost["id"]).preview_key != ""
    assert Revision.objects.get(pk=recent["id"]).preview_key == ""
    assert conversion.previews_requeue_missing() == 0


def test_the_preview_task_does_not_retry_a_preview_that_could_not_be_drawn(converted, settings):
    settings.PREVIEW_MEMORY_MB = 64
    revision = converted(box_step())
    settings.PREVIEW_MEMORY_MB = 1024

    render_preview.delay(revision["id"])

    assert Revision.objects.get(pk=revision["id"]).preview_error == "drawing it ran out of memory (limit 64 MB)"


def test_a_preview_that_cannot_be_drawn_leaves_the_model_ready(converted, as_viewer, settings):
    settings.PREVIEW_MEMORY_MB = 64

    revision = converted(box_step())

    assert revision["conversion_status"] == "ready"
    assert revision["preview_url"] is None
    assert revision["preview_error"] == "drawing it ran out of memory (limit 64 MB)"
    assert fetch(as_viewer, revision["model_url"])[0] == 200
    assert len(stored_keys()) == 3  # the STEP file, its model and the DXF of the plate it is


def test_a_new_conversion_replaces_the_old_preview(converted, as_lead, django_capture_on_commit_callbacks):
    revision = converted(box_step())
    old_preview = Revision.objects.get(pk=revision["id"]).preview_key

    with django_capture_on_commit_callbacks(execute=True):
        as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    new_preview = Revision.objects.get(pk=revision["id"]).preview_key
    assert new_preview and new_preview != old_preview
    assert old_preview not in stored_keys() and new_preview in stored_keys()


def test_a_failed_new_conversion_leaves_no_preview(converted, as_lead, settings, django_capture_on_commit_callbacks):
    revision = converted(box_step())
    settings.CONVERSION_TIMEOUT_SECONDS = 0.001

    with django_capture_on_commit_callbacks(execute=True):
        as_lead.post(f"/api/revisions/{revision['id']}/reconvert/")

    again = as_lead.get(f"/api/revisions/{revision['id']}/").json()
    assert (again["conversion_status"], again["preview_url"]) == ("failed", None)
    assert stored_keys() == [Revision.objects.get(pk=revision["id"]).storage_key]


def test_a_preview_is_drawn_again_only_for_a_converted_revision(converted):
    from files.tests.samples import pdf_bytes

    waiting = Revision.objects.get(pk=converted(box_step(), part=make_part())["id"])
    Revision.objects.filter(pk=waiting.pk).update(conversion_status=ConversionStatus.PENDING)
    drawing = converted(pdf_bytes(), "drawing.pdf")

    assert conversion.revision_render_preview(waiting.pk) is None
    assert conversion.revision_render_preview(drawing["id"]) is None
    assert conversion.revision_render_preview(999999) is None


def test_a_full_disk_in_the_converter_is_tried_again_and_the_last_word_says_so(as_fabricator, settings, tmp_path):
    from partsite.testing import small_file_system

    revision = _revision(as_fabricator)
    with small_file_system(tmp_path / "tmp", size="1m") as temp:
        settings.FILE_UPLOAD_TEMP_DIR = temp
        with open(temp / "filler", "wb", buffering=0) as filler:
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
            # Room for the STEP file the worker writes, none for the model the converter writes.
            filler.truncate(filler.tell() - 4096 * (-(-revision.size // 4096)))

        convert_revision(revision.pk)

    revision.refresh_from_db()
    assert revision.conversion_status == "failed"
    assert revision.conversion_attempts == settings.CONVERSION_MAX_ATTEMPTS
    assert revision.conversion_error.startswith("Gave up after 3 attempts: the server could not write")
    assert "No space left on device" in revision.conversion_error


def test_a_converter_killed_by_the_system_is_worth_another_try_but_a_timeout_is_not():
    from files.converter import _failure_reason, _is_server_trouble
    from files.forkserver import ChildOutcome

    killed = ChildOutcome(exit_code=-9, timed_out=False, seconds=3, peak_rss_mb=900, peak_vm_mb=1000, last_output_line="")
    timed_out = ChildOutcome(exit_code=-9, timed_out=True, seconds=120, peak_rss_mb=90, peak_vm_mb=100, last_output_line="")
    crashed = ChildOutcome(exit_code=-11, timed_out=False, seconds=3, peak_rss_mb=90, peak_vm_mb=100, last_output_line="")

    assert _is_server_trouble(killed) and "out-of-memory killer" in _failure_reason(killed, 120, 2048)
    assert not _is_server_trouble(timed_out) and _failure_reason(timed_out, 120, 2048) == "timed out after 120 s"
    assert not _is_server_trouble(crashed)
