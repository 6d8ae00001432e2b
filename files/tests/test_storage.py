"""The Vault's contract (files/storage.py), held against both backends: local disk, and S3 through moto's server.

Every test here runs twice and asserts the same thing each time: the vault is the only
place that knows which backend it is, so whatever uses it must not be able to tell.
"""

import hashlib
import io
import urllib.request
from datetime import timedelta

import boto3
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from files.models import Kind, Upload
from files.storage import PartsGone, StorageError, new_glb_key, new_revision_key, part_size_for, vault
from files.tests.helpers import send_part
from files.tests.samples import box_step
from files.upload_handler import receiving_uploads
from parts.tests.factories import make_part
from partsite.errors import TooLarge

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

MIB = 2**20
CONTENT = bytes(range(256)) * 1000  # 256,000 bytes, each position telling its offset apart


@pytest.fixture
def stored():
    """A key holding CONTENT."""
    key = new_revision_key(Kind.STEP)
    vault().save(key, io.BytesIO(CONTENT))
    return key


def unfinished_uploads(storage_backend):
    """Multipart uploads begun in the bucket and neither completed nor aborted (none on local disk)."""
    if storage_backend == "local":
        return []
    s3 = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    return s3.list_multipart_uploads(Bucket=settings.AWS_STORAGE_BUCKET_NAME).get("Uploads", [])


# Objects


def test_what_is_saved_reads_back_byte_for_byte(stored):
    assert b"".join(vault().chunks(stored)) == CONTENT


@pytest.mark.parametrize("start,length", [(0, 100), (1000, 5000), (255_000, None), (0, len(CONTENT))])
def test_a_range_reads_back_just_those_bytes(stored, start, length):
    end = None if length is None else start + length

    assert b"".join(vault().chunks(stored, start, length)) == CONTENT[start:end]


def test_chunks_are_small_whatever_the_size(stored):
    assert max(len(chunk) for chunk in vault().chunks(stored)) <= 64 * 1024


def test_saving_chunks_learns_their_size_sha256_and_head():
    key = new_glb_key()

    digest = vault().save_chunks(key, iter([CONTENT[:1000], CONTENT[1000:]]))

    assert (digest.size, digest.sha256) == (len(CONTENT), hashlib.sha256(CONTENT).hexdigest())
    assert digest.head == CONTENT
    assert vault().digest(key).sha256 == digest.sha256


def test_a_key_is_never_overwritten(stored):
    with pytest.raises(StorageError, match="refused the key"):
        vault().save(stored, io.BytesIO(b"something else"))

    assert b"".join(vault().chunks(stored)) == CONTENT
    assert list(vault().keys()) == [stored]


def test_a_missing_object_is_file_not_found():
    missing = new_revision_key(Kind.STEP)

    with pytest.raises(FileNotFoundError):
        b"".join(vault().chunks(missing))
    with pytest.raises(FileNotFoundError):
        vault().digest(missing)


def test_keys_are_everything_under_partsites_prefixes_and_nothing_else(stored):
    model = new_glb_key()
    vault().save(model, io.BytesIO(b"glTF"))
    vault().save("revisions/nested/left-behind.step", io.BytesIO(b"ISO"))
    vault().save("someone-elses/file.txt", io.BytesIO(b"not ours"))

    assert sorted(vault().keys()) == sorted([stored, model, "revisions/nested/left-behind.step"])


def test_a_deleted_object_is_gone_and_deleting_twice_or_nothing_is_harmless(stored):
    vault().delete(stored)
    vault().delete(stored)
    vault().delete("")

    assert list(vault().keys()) == []
    with pytest.raises(FileNotFoundError):
        b"".join(vault().chunks(stored))


# Serving


def served(response, **headers):
    """(status, headers, body) as a client gets them, following a redirect to storage as a browser would."""
    if response.status_code == 302:
        plain = {name.removeprefix("HTTP_").replace("_", "-").title(): value for name, value in headers.items()}
        with urllib.request.urlopen(urllib.request.Request(response["Location"], headers=plain), timeout=30) as got:
            return got.status, {name.lower(): value for name, value in got.headers.items()}, got.read()
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, {name.lower(): value for name, value in response.items()}, body


def download(key, inline=False, **headers):
    request = RequestFactory().get("/download/", **headers)
    response = vault().download_response(
        request, key=key, size=len(CONTENT), sha256=hashlib.sha256(CONTENT).hexdigest(),
        filename="Träger 1.step", content_type="model/step", inline=inline,
    )
    return served(response, **headers)


def test_a_download_is_the_object_as_an_attachment_with_its_name(stored):
    status, headers, body = download(stored)

    assert (status, body) == (200, CONTENT)
    assert headers["content-type"] == "model/step"
    assert headers["content-disposition"] == "attachment; filename*=utf-8''Tr%C3%A4ger%201.step"


def test_a_download_to_show_in_the_browser_is_inline(stored):
    status, headers, body = download(stored, inline=True)

    assert (status, body) == (200, CONTENT)
    assert headers["content-disposition"].startswith("inline")


def test_a_download_serves_a_byte_range(stored):
    status, headers, body = download(stored, HTTP_RANGE="bytes=1000-1999")

    assert (status, body) == (206, CONTENT[1000:2000])
    assert headers["content-range"] == f"bytes 1000-1999/{len(CONTENT)}"


# Simple uploads


def upload_request(content, filename="bracket.step"):
    return RequestFactory().post("/upload/", {"file": SimpleUploadedFile(filename, content)})


def test_an_upload_is_digested_as_it_arrives_and_stored_under_its_own_key(settings):
    settings.UPLOAD_PART_SIZE_MB = 5
    content = box_step(padding=6 * MIB)
    request = upload_request(content)

    with receiving_uploads(request):
        uploaded = request.FILES["file"]
        vault().save_upload(uploaded)

    assert (uploaded.digest.size, uploaded.digest.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert uploaded.digest.head.startswith(b"ISO-10303-21;")
    assert uploaded.storage_key.startswith("revisions/") and uploaded.storage_key.endswith(".step")
    assert list(vault().keys()) == [uploaded.storage_key]
    assert b"".join(vault().chunks(uploaded.storage_key)) == content


def test_an_upload_that_is_not_stored_leaves_nothing_behind(storage_backend):
    request = upload_request(box_step(padding=MIB))

    with receiving_uploads(request):
        assert request.FILES["file"].digest.size > MIB

    assert list(vault().keys()) == []
    assert unfinished_uploads(storage_backend) == []


def test_an_upload_over_the_limit_is_refused_before_it_is_read(settings, storage_backend):
    settings.MAX_UPLOAD_MB = 1
    request = upload_request(b"x" * 3 * MIB)

    with pytest.raises(TooLarge), receiving_uploads(request):
        request.FILES["file"]

    assert unfinished_uploads(storage_backend) == []


# Direct uploads


@pytest.fixture
def upload(settings):
    """A direct upload of an 11 MB STEP file in parts of 5 MiB, started in storage."""
    settings.UPLOAD_PART_SIZE_MB = 5
    content = box_step(padding=11 * MIB)
    started = Upload(
        part=make_part(), kind=Kind.STEP, filename="chassis.step", size=len(content), part_size=part_size_for(1),
        storage_key=new_revision_key(Kind.STEP), expires_at=timezone.now() + timedelta(hours=1),
    )
    vault().start_upload(started)
    started.save()
    started.content = content
    return started


def send(anonymous, upload, numbers):
    request = RequestFactory().get("/")
    for number in numbers:
        url = vault().part_url(upload, number, request)
        piece = upload.content[(number - 1) * upload.part_size : number * upload.part_size]
        assert send_part(anonymous, {"url": url}, piece) == 200


def test_parts_sent_to_their_urls_are_received_and_assembled_into_the_file(anonymous, upload):
    send(anonymous, upload, [3, 1])

    assert vault().parts_received(upload) == {1: 5 * MIB, 3: len(upload.content) - 10 * MIB}

    send(anonymous, upload, [2])
    digest = vault().assemble(upload)

    assert (digest.size, digest.sha256) == (len(upload.content), hashlib.sha256(upload.content).hexdigest())
    assert b"".join(vault().chunks(upload.storage_key)) == upload.content


def test_discarded_parts_are_gone(anonymous, upload, storage_backend):
    send(anonymous, upload, [1])

    vault().discard_parts(upload)
    vault().discard_parts(upload)

    with pytest.raises(PartsGone):
        vault().parts_received(upload)
    assert list(vault().keys()) == [] and unfinished_uploads(storage_backend) == []

