"""manage.py verify_storage: every stored file re-hashed against the database."""

import io
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from files.models import Revision, Upload
from files.storage import vault
from files.storage.s3 import S3Vault
from files.tests.helpers import convert_now, post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def verify_storage(*args, stderr=None):
    """Run the command: (what it printed, None) when all is well, (what it printed, the error) when not."""
    stdout = io.StringIO()
    try:
        call_command("verify_storage", *args, stdout=stdout, stderr=stderr or io.StringIO())
    except CommandError as error:
        return stdout.getvalue(), str(error)
    return stdout.getvalue(), None


def _s3():
    return boto3.client(
        "s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name=settings.AWS_S3_REGION_NAME,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID, aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
    )


def on_s3():
    return isinstance(vault(), S3Vault)


def write_behind_partsites_back(key, content):
    if on_s3():
        _s3().put_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key, Body=content)
    else:
        path = Path(settings.MEDIA_ROOT) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def delete_behind_partsites_back(key):
    if on_s3():
        _s3().delete_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key)
    else:
        (Path(settings.MEDIA_ROOT) / key).unlink()


@pytest.fixture
def bracket(as_fabricator):
    """P-BRACKET with a STEP model R1 and a drawing D1."""
    part = make_part(part_number="P-BRACKET")
    post_file(as_fabricator, part, box_step(), "bracket.step")
    post_file(as_fabricator, part, pdf_bytes(), "bracket.pdf")
    return part


def converted(part):
    """Convert the part's STEP revision to a 3D model, as the worker would."""
    return convert_now(Revision.objects.get(part=part, kind="step").pk)


def test_it_verifies_every_file_and_model_when_all_is_well(bracket):
    converted(bracket)

    output, error = verify_storage()

    assert error is None
    assert output == "All 4 objects verified.\n"  # STEP, PDF, 3D model, and the DXF of the plate the box is


def test_it_verifies_an_empty_vault():
    assert verify_storage() == ("All 0 objects verified.\n", None)


def test_it_reports_a_file_deleted_behind_partsites_back_as_missing(bracket):
    drawing = Revision.objects.get(part=bracket, kind="drawing")
    delete_behind_partsites_back(drawing.storage_key)

    output, error = verify_storage()

    assert f"MISSING  {drawing.storage_key}: P-BRACKET D1 (bracket.pdf)" in output
    assert error == "2 objects checked: 1 missing, 0 corrupt, 0 orphaned, 0 unfinished uploads, 0 stale temp files."


def test_a_revision_deleted_while_the_check_runs_is_not_missing(bracket, monkeypatch):
    drawing = Revision.objects.get(part=bracket, kind="drawing")
    digest = vault().digest

    def digest_after_a_lead_deleted_the_drawing(key):
        if key == drawing.storage_key:
            drawing.delete()
            delete_behind_partsites_back(key)
        return digest(key)

    monkeypatch.setattr(vault(), "digest", digest_after_a_lead_deleted_the_drawing)

    assert verify_storage() == ("All 1 objects verified.\n", None)


def test_it_reports_a_missing_3d_model(bracket):
    step = converted(bracket)
    delete_behind_partsites_back(step.glb_key)

    output, error = verify_storage()

    assert f"MISSING  {step.glb_key}: P-BRACKET R1 (bracket.step) 3D model" in output
    assert "1 missing" in error


def test_it_reports_a_file_overwritten_with_other_bytes_as_corrupt_naming_its_revision(bracket):
    step = Revision.objects.get(part=bracket, kind="step")
    other = box_step(99, 99, 99)
    write_behind_partsites_back(step.storage_key, other)

    output, error = verify_storage()

    [line] = output.splitlines()
    assert line.startswith(f"CORRUPT  {step.storage_key}: P-BRACKET R1 (bracket.step): ")
    assert f"expected {step.size} bytes with SHA-256 {step.sha256}" in line
    assert f"found {len(other)} bytes with SHA-256 " in line
    assert error == "2 objects checked: 0 missing, 1 corrupt, 0 orphaned, 0 unfinished uploads, 0 stale temp files."


def test_it_catches_a_changed_byte_that_keeps_the_size(bracket):
    drawing = Revision.objects.get(part=bracket, kind="drawing")
    write_behind_partsites_back(drawing.storage_key, b"%PDF-1.4" + pdf_bytes()[8:])

    output, error = verify_storage()

    assert f"expected {drawing.size} bytes with SHA-256 {drawing.sha256}, found {drawing.size} bytes" in output
    assert "1 corrupt" in error


def test_it_reports_a_stray_object_under_revisions_as_orphaned_and_leaves_it_there(bracket):
    write_behind_partsites_back("revisions/stray.step", box_step(5, 5, 5))

    output, error = verify_storage()

    assert output == "ORPHANED revisions/stray.step: no revision or upload refers to it\n"
    assert error == "2 objects checked: 0 missing, 0 corrupt, 1 orphaned, 0 unfinished uploads, 0 stale temp files."
    assert "revisions/stray.step" in stored_keys()


def test_an_upload_in_progress_is_not_an_orphan(as_fabricator):
    part = make_part()
    content = box_step()
    start = as_fabricator.post(
        f"/api/parts/{part.pk}/uploads/", {"filename": "big.step", "size": len(content)}, format="json"
    )
    assert start.status_code == 201, start.json()
    write_behind_partsites_back(Upload.objects.get().storage_key, content)  # as once assembling has begun

    assert verify_storage() == ("All 0 objects verified.\n", None)


def test_part_limits_the_check_to_that_parts_files(bracket, as_fabricator):
    other = make_part(part_number="P-OTHER")
    post_file(as_fabricator, other, box_step(7, 7, 7), "other.step")
    delete_behind_partsites_back(Revision.objects.get(part=other).storage_key)
    write_behind_partsites_back("revisions/stray.step", b"stray")

    assert verify_storage("--part", "P-BRACKET") == ("All 2 objects verified.\n", None)
    output, error = verify_storage("--part", "P-OTHER")
    assert "MISSING" in output and "stray" not in output
    assert error == "1 objects checked: 1 missing, 0 corrupt."


def test_an_unknown_part_number_is_an_error():
    assert verify_storage("--part", "P-NOPE")[1] == "No part numbered 'P-NOPE'."


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only(bracket):
    terminal = Terminal()
    verify_storage(stderr=terminal)
    assert "Verifying" in terminal.getvalue() and "2/2" in terminal.getvalue()

    switched_off = Terminal()
    verify_storage("--no-progress", stderr=switched_off)
    assert switched_off.getvalue() == ""

    piped = io.StringIO()
    verify_storage(stderr=piped)
    assert piped.getvalue() == ""


# Leftovers of failures: found, and removed past the grace period


def leave_unowned_parts():
    """Parts no upload owns: an S3 multipart upload, or a local folder of parts, as a killed process leaves."""
    if on_s3():
        _s3().create_multipart_upload(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key="revisions/cut-off.step")
        return "revisions/cut-off.step (multipart upload"
    folder = Path(settings.UPLOAD_PARTS_DIR) / "0b7c1a52-0000-4000-8000-000000000000"
    folder.mkdir(parents=True)
    (folder / "1.part").write_bytes(b"x" * 100)
    return "parts folder 0b7c1a52-0000-4000-8000-000000000000"


def test_parts_that_no_upload_owns_are_reported_and_removed_on_request(as_fabricator):
    name = leave_unowned_parts()
    part = make_part()
    open_upload = as_fabricator.post(
        f"/api/parts/{part.pk}/uploads/", {"filename": "big.step", "size": len(box_step())}, format="json"
    )
    assert open_upload.status_code == 201  # its parts are owned: neither reported nor removed

    output, error = verify_storage()
    assert output.startswith(f"UNFINISHED {name}") and "no open upload owns" in output
    assert error == "0 objects checked: 0 missing, 0 corrupt, 0 orphaned, 1 unfinished uploads, 0 stale temp files."

    if not on_s3():  # moto dates every multipart upload 2010-11-10: only real S3 tells its age
        assert verify_storage("--remove-leftovers", "--older-than-hours", "1")[1] is not None  # too recent
    output, error = verify_storage("--remove-leftovers", "--older-than-hours", "0")

    assert output.startswith(f"REMOVED  unfinished upload {name}")
    assert error is None
    assert verify_storage() == ("All 0 objects verified.\n", None)
    assert Upload.objects.get().status == "open" and vault().parts_received(Upload.objects.get()) == {}


def test_temp_files_of_killed_processes_are_reported_and_removed_by_the_clean_up(settings, caplog):
    import os
    import time

    from files.tasks import remove_storage_leftovers

    killed = Path(settings.FILE_UPLOAD_TEMP_DIR) / "convert-abc123"
    killed.mkdir()
    (killed / "model.step").write_bytes(b"x" * 1000)
    long_ago = time.time() - 3 * 3600
    os.utime(killed, (long_ago, long_ago))

    output, error = verify_storage()
    assert output.startswith(f"STALE    {killed}: left in tmp by a process that was killed")
    assert "1 stale temp files" in error

    remove_storage_leftovers.delay()

    assert not killed.exists()
    assert f"removed {killed}" in caplog.text
    assert verify_storage() == ("All 0 objects verified.\n", None)


def test_the_hourly_clean_up_removes_orphans_past_the_grace_period_and_logs_each(bracket, settings, caplog):
    from files.tasks import remove_storage_leftovers

    write_behind_partsites_back("models/lost.glb", b"glTF")
    settings.STORAGE_LEFTOVER_GRACE_HOURS = 24

    remove_storage_leftovers.delay()
    assert "models/lost.glb" in stored_keys()  # too recent: it may be a model whose row is being written

    settings.STORAGE_LEFTOVER_GRACE_HOURS = 0
    remove_storage_leftovers.delay()

    assert "models/lost.glb" not in stored_keys()
    assert "removed orphaned models/lost.glb" in caplog.text
    assert verify_storage() == ("All 2 objects verified.\n", None)


def test_the_clean_up_keeps_every_file_a_revision_refers_to(bracket, settings):
    from files.tasks import remove_storage_leftovers

    settings.GLB_COMPACT_MIN_BYTES = 0  # compact even this small model, so it has every kind of file
    revision = converted(bracket)
    kept = [revision.storage_key, revision.glb_key, revision.glb_compact_key, revision.glb_coarse_key, revision.dxf_key]
    assert all(kept), kept
    settings.STORAGE_LEFTOVER_GRACE_HOURS = 0

    remove_storage_leftovers.delay()

    assert set(kept) <= set(stored_keys())
    output, error = verify_storage()
    assert error is None, output
