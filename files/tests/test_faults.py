"""Storage failing while files come in: what the client sees, and that nothing is lost, stuck
or left behind once storage is back (`verify_storage` clean). Each fault is real: a full disk
(a small tmpfs), or S3 (moto) behind a proxy whose connections are cut."""

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from django.core.management import call_command
from django.utils import timezone

from files.models import Revision, Upload
from files.storage import vault
from files.tasks import expire_uploads
from files.tests.helpers import send_part
from files.tests.samples import box_step
from parts.tests.factories import make_part
from partsite import outages
from partsite.testing import OutageProxy, small_file_system

pytestmark = pytest.mark.django_db

MIB = 2**20


@pytest.fixture(autouse=True)
def small_parts(settings):
    settings.UPLOAD_PART_SIZE_MB = 5


@pytest.fixture
def uploader(fabricator):
    from conftest import client_for

    client = client_for(fabricator)
    client.raise_request_exception = False  # as in production: handler500 answers
    return client


def s3_client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_behind_proxy(settings, moto_endpoint):
    """Files on S3 (a fresh moto bucket) reached through a proxy the test can cut."""
    import uuid

    from conftest import S3_CREDENTIALS

    address = urlsplit(moto_endpoint)
    proxy = OutageProxy(address.hostname, address.port)
    bucket = f"partsite-{uuid.uuid4().hex[:16]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    for name, value in S3_CREDENTIALS.items():
        setattr(settings, name, value)
    settings.AWS_S3_ENDPOINT_URL = settings.AWS_S3_PUBLIC_ENDPOINT_URL = proxy.url
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    # One attempt, so an outage is seen at once rather than after botocore's back-off.
    settings.AWS_S3_CLIENT_CONFIG = Config(
        retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10,
        s3={"addressing_style": "path"}, signature_version="s3v4",
    )
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    proxy.bucket = bucket
    proxy.direct = s3_client(moto_endpoint)
    yield proxy
    proxy.cut()


@pytest.fixture
def mounted_small_disk(settings, tmp_path):
    """Files and upload parts on a real 18 MB file system, which a test can fill up."""
    with small_file_system(tmp_path / "disk", size="18m") as disk:
        settings.MEDIA_ROOT = disk / "media"
        settings.UPLOAD_PARTS_DIR = disk / "uploads"
        yield disk


def big_step():
    """11 MiB: parts of 5, 5 and 1 MiB."""
    return box_step(name="Chassis", padding=11 * MIB)


def sent_in_parts(client, part, content):
    started = client.post(
        f"/api/parts/{part.pk}/uploads/",
        {"filename": "chassis.step", "size": len(content), "sha256": hashlib.sha256(content).hexdigest()},
        format="json",
    )
    assert started.status_code == 201, started.content
    upload = started.json()
    size = upload["part_size"]
    for part_url in upload["parts"]:
        number = part_url["number"]
        assert send_part(client, part_url, content[(number - 1) * size : number * size]) == 200
    return upload


def complete(client, upload):
    return client.post(f"/api/uploads/{upload['id']}/complete/")


def assert_names(response, dependency):
    assert response.status_code == 503, response.content
    assert response.json()["unavailable"] == dependency
    assert response["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)


def verify_storage_is_clean():
    call_command("verify_storage", "--no-progress")  # raises CommandError on any finding


def multipart_uploads(proxy):
    return proxy.direct.list_multipart_uploads(Bucket=proxy.bucket).get("Uploads", [])


# Direct uploads: never stuck in `completing`


@pytest.mark.parametrize("cut_before", ["assemble", "digest"])
def test_storage_dying_while_an_upload_completes_leaves_it_to_be_completed_again(
    uploader, s3_behind_proxy, monkeypatch, cut_before
):
    content = big_step()
    upload = sent_in_parts(uploader, make_part(), content)
    backend = type(vault())
    real = getattr(backend, cut_before)

    def storage_dies_first(self, *args):
        s3_behind_proxy.cut()
        return real(self, *args)

    monkeypatch.setattr(backend, cut_before, storage_dies_first)
    cut_off = complete(uploader, upload)
    monkeypatch.setattr(backend, cut_before, real)

    assert_names(cut_off, "storage")
    seen = Upload.objects.get(pk=upload["id"])
    assert seen.status == "open"
    assert "File storage is not answering" in seen.error and "complete the upload again" in seen.error

    s3_behind_proxy.restore()
    again = complete(uploader, upload)

    assert again.status_code == 201, again.content
    revision = Revision.objects.get(pk=again.json()["id"])
    assert (revision.size, revision.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert Upload.objects.get(pk=upload["id"]).status == "completed"
    assert multipart_uploads(s3_behind_proxy) == []
    verify_storage_is_clean()


def test_a_disk_filling_up_while_an_upload_completes_keeps_the_parts_for_another_try(
    uploader, mounted_small_disk
):
    content = big_step()
    upload = sent_in_parts(uploader, make_part(), content)
    filler = mounted_small_disk / "filler"
    with open(filler, "wb") as taking_the_room:  # leave less than a part free
        try:
            while True:
                taking_the_room.write(b"\0" * MIB)
                taking_the_room.flush()
        except OSError:
            pass

    full = complete(uploader, upload)

    assert_names(full, "disk")
    assert Upload.objects.get(pk=upload["id"]).status == "open"
    filler.unlink()
    again = complete(uploader, upload)
    assert again.status_code == 201, again.content
    assert Revision.objects.get(pk=again.json()["id"]).sha256 == hashlib.sha256(content).hexdigest()
    assert list((mounted_small_disk / "uploads").rglob("*.part")) == []
    verify_storage_is_clean()


def test_a_local_upload_completes_without_room_for_a_second_copy_of_the_file(uploader, mounted_small_disk):
    content = big_step()  # 11 MiB on an 18 MB disk: a copy of it would not fit beside the parts
    upload = sent_in_parts(uploader, make_part(), content)

    completed = complete(uploader, upload)

    assert completed.status_code == 201, completed.content
    revision = Revision.objects.get(pk=completed.json()["id"])
    assert b"".join(vault().chunks(revision.storage_key)) == content
    verify_storage_is_clean()


def test_an_upload_left_completing_by_a_dead_process_is_reopened_by_the_clean_up(uploader, settings):
    content = big_step()
    upload = sent_in_parts(uploader, make_part(), content)
    long_ago = timezone.now() - timedelta(minutes=settings.UPLOAD_COMPLETING_STALE_MINUTES + 1)
    Upload.objects.filter(pk=upload["id"]).update(status="completing", completing_started_at=long_ago)
    assert complete(uploader, upload).status_code == 409

    expire_uploads.delay()

    assert Upload.objects.get(pk=upload["id"]).status == "open"
    assert complete(uploader, upload).status_code == 201


def test_a_completion_still_under_way_is_not_reopened(uploader):
    upload = sent_in_parts(uploader, make_part(), big_step())
    Upload.objects.filter(pk=upload["id"]).update(status="completing", completing_started_at=timezone.now())

    expire_uploads.delay()

    assert Upload.objects.get(pk=upload["id"]).status == "completing"


# Simple uploads


def test_a_simple_upload_cut_off_by_a_storage_outage_leaves_nothing_once_the_clean_up_ran(
    uploader, s3_behind_proxy, monkeypatch, settings
):
    from files.storage.s3 import S3PartsWriter
    from files.tasks import remove_storage_leftovers
    from files.tests.helpers import post_file

    real_complete = S3PartsWriter.complete

    def storage_dies_first(self):
        s3_behind_proxy.cut()
        return real_complete(self)

    monkeypatch.setattr(S3PartsWriter, "complete", storage_dies_first)
    cut_off = post_file(uploader, make_part(), box_step())
    monkeypatch.setattr(S3PartsWriter, "complete", real_complete)

    assert_names(cut_off, "storage")
    assert not Revision.objects.exists()
    s3_behind_proxy.restore()
    assert len(multipart_uploads(s3_behind_proxy)) == 1  # its abort failed too: storage was down

    settings.STORAGE_LEFTOVER_GRACE_HOURS = 0
    remove_storage_leftovers.delay()

    assert multipart_uploads(s3_behind_proxy) == []
    verify_storage_is_clean()
