"""Simple uploads on S3 go to the bucket in parts while the body arrives, and nothing stays behind a failure.

Against moto's real HTTP server: after every refused or broken upload the bucket holds no
object and no multipart upload of it.
"""

import hashlib
import io
import os
import uuid

import boto3
import pytest
from django.db import IntegrityError

from files.storage.s3 import S3PartsWriter
from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step, pdf_bytes
from files.upload_handler import DigestingUploadHandler
from parts.lifecycle import Status
from parts.models import PartEvent
from parts.tests.factories import make_part
from partsite.errors import TooLarge

pytestmark = pytest.mark.django_db
MIB = 2**20


@pytest.fixture
def s3(settings):
    """The test's fresh moto bucket, with parts of 5 MiB (the least S3 takes)."""
    settings.UPLOAD_PART_SIZE_MB = 5
    return boto3.client(
        "s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1",
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID, aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
    )


def in_bucket(s3, settings):
    """(keys of the objects, keys of the multipart uploads not completed) in the test's bucket."""
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    objects = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [item["Key"] for item in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return objects, uploads


@pytest.fixture
def sent_parts(monkeypatch):
    """The sizes of the parts sent to S3, in the order they were sent."""
    sizes = []
    upload_part = S3PartsWriter._upload_part

    def recorded(writer, number, body):
        sizes.append((number, os.fstat(body.fileno()).st_size))
        return upload_part(writer, number, body)

    monkeypatch.setattr(S3PartsWriter, "_upload_part", recorded)
    return sizes


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_simple_upload_reaches_the_bucket_as_parts_of_one_multipart_upload(storage_backend, s3, settings,
                                                                              as_fabricator, as_viewer, sent_parts):
    content = box_step(padding=12 * MIB)

    response = post_file(as_fabricator, make_part(), content, "big.step")

    assert response.status_code == 201
    revision = response.json()
    assert sorted(sent_parts) == [(1, 5 * MIB), (2, 5 * MIB), (3, len(content) - 10 * MIB)]
    objects, uploads = in_bucket(s3, settings)
    assert uploads == []
    assert len(objects) == 1 and objects[0].startswith("revisions/") and objects[0].endswith(".step")
    assert s3.head_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=objects[0])["ETag"].endswith('-3"')
    status, _, body = fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")
    assert (status, body) == (200, content)
    assert revision["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_file_of_exactly_one_part_is_one_part(storage_backend, s3, settings, as_fabricator, sent_parts):
    content = pdf_bytes(5 * MIB)

    assert post_file(as_fabricator, make_part(), content, "drawing.pdf").status_code == 201

    assert sent_parts == [(1, 5 * MIB)]
    assert in_bucket(s3, settings)[1] == []


def refused_uploads():
    """(what is sent, the status, what the message says): each one is refused after parts were sent."""
    big_step = box_step(padding=7 * MIB)
    return {
        "not a STEP file": (b"%PDF-1.7\n" + b"x" * (7 * MIB), "bracket.step", {}, 400, "not a STEP file"),
        "an unknown extension": (big_step, "bracket.txt", {}, 400, "neither a STEP model nor a drawing"),
        "a kind that does not fit": (big_step, "bracket.step", {"kind": "drawing"}, 400, "must be a .pdf or .dxf file"),
        "a description too long": (big_step, "bracket.step", {"description": "x" * 2001}, 400, "2000"),
        "an empty file": (b"", "bracket.step", {}, 400, "The file is empty (0 bytes)."),
    }


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
@pytest.mark.parametrize("case", list(refused_uploads()))
def test_a_refused_upload_leaves_nothing_in_the_bucket(storage_backend, s3, settings, as_fabricator, case):
    content, filename, fields, status, message = refused_uploads()[case]

    response = post_file(as_fabricator, make_part(), content, filename, **fields)

    assert response.status_code == status
    assert message in str(response.json())
    assert in_bucket(s3, settings) == ([], [])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_the_same_file_again_is_refused_and_only_the_first_stays(storage_backend, s3, settings, as_fabricator):
    part, content = make_part(), box_step(padding=6 * MIB)
    first = post_file(as_fabricator, part, content).json()

    response = post_file(as_fabricator, part, content, "again.step")

    assert response.status_code == 409
    assert response.json()["detail"] == f"This file is already revision {first['label']} of {part.part_number} " \
        "(bracket.step)."
    objects, uploads = in_bucket(s3, settings)
    assert (len(objects), uploads) == (1, [])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_retired_part_takes_no_file_and_keeps_no_parts(storage_backend, s3, settings, as_lead):
    response = post_file(as_lead, make_part(status=Status.RETIRED), box_step(padding=6 * MIB))

    assert response.status_code == 409
    assert in_bucket(s3, settings) == ([], [])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_file_that_grows_past_the_limit_is_refused_and_its_parts_are_dropped(storage_backend, s3, settings,
                                                                              sent_parts):
    # Django parses only bodies whose length is declared, and refuses those too long before
    # reading them; a handler fed more than its limit (a parser that trusts no length) says so.
    settings.MAX_UPLOAD_MB = 6
    handler = DigestingUploadHandler()
    handler.new_file("file", "bracket.step", "application/octet-stream", None)
    chunks = iter([MIB * b"x"] * 13)

    with pytest.raises(TooLarge, match=r"larger than the 6 MB limit \(more than that was sent\)"):
        for number, chunk in enumerate(chunks):
            handler.receive_data_chunk(chunk, number * MIB)

    assert sent_parts[:1] == [(1, 5 * MIB)]
    assert in_bucket(s3, settings) == ([], [])


class DroppedConnection(io.RawIOBase):
    """A request body whose client goes away after `size` bytes, as a reset connection reads."""

    def __init__(self, body, size):
        self._body = io.BytesIO(body[:size])

    def readable(self):
        return True

    def readinto(self, buffer):
        read = self._body.readinto(buffer)
        if not read:
            raise OSError("connection reset by peer")
        return read


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_client_that_goes_away_halfway_leaves_nothing_in_the_bucket(storage_backend, s3, settings, fabricator,
                                                                       sent_parts):
    body, boundary = multipart_body(box_step(padding=12 * MIB))

    status, _ = wsgi_post(fabricator, make_part(), io.BufferedReader(DroppedConnection(body, 11 * MIB)), boundary,
                          content_length=len(body))

    assert status.startswith("500")  # UnreadablePostError: gunicorn has no one to send it to

    assert sent_parts[:2] == [(1, 5 * MIB), (2, 5 * MIB)]
    assert in_bucket(s3, settings) == ([], [])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_an_upload_whose_row_cannot_be_written_leaves_nothing_in_the_bucket(storage_backend, s3, settings,
                                                                             as_fabricator, monkeypatch):
    def refuse(**fields):
        raise IntegrityError("simulated failure after the file was stored")

    monkeypatch.setattr(PartEvent.objects, "create", refuse)

    with pytest.raises(IntegrityError):
        post_file(as_fabricator, make_part(), box_step(padding=6 * MIB))

    assert in_bucket(s3, settings) == ([], [])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_part_s3_refuses_fails_the_upload_and_leaves_nothing(storage_backend, s3, settings, as_fabricator,
                                                                monkeypatch):
    upload_part = S3PartsWriter._upload_part

    def second_part_refused(writer, number, body):
        if number == 2:
            raise ConnectionError("S3 went away")
        return upload_part(writer, number, body)

    monkeypatch.setattr(S3PartsWriter, "_upload_part", second_part_refused)

    with pytest.raises(ConnectionError):
        post_file(as_fabricator, make_part(), box_step(padding=12 * MIB))

    assert in_bucket(s3, settings) == ([], [])


def test_on_local_disk_the_upload_is_spooled_and_moved_as_before(as_fabricator, settings, sent_parts):
    response = post_file(as_fabricator, make_part(), box_step(padding=6 * MIB))

    assert response.status_code == 201
    assert sent_parts == []


def multipart_body(content, filename="bracket.step"):
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, boundary


def wsgi_post(user, part, stream, boundary, *, content_length):
    """POST a body read from `stream` through Django's WSGI handler, as gunicorn hands it over."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory

    from partsite.services import apikey_create

    _, key = apikey_create(user=user)
    environ = RequestFactory().post(f"/api/parts/{part.pk}/revisions/", HTTP_X_API_KEY=key).environ
    environ.update({"CONTENT_TYPE": f"multipart/form-data; boundary={boundary}", "wsgi.input": stream,
                    "CONTENT_LENGTH": str(content_length)})
    started = {}
    # As Django's test client does: the test's database connection must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = WSGIHandler()(environ, lambda status, headers: started.update(status=status))
        try:
            return started["status"], b"".join(body)
        finally:
            body.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_each_streamed_file_is_named_as_uploaded(storage_backend, as_fabricator):
    response = post_file(as_fabricator, make_part(), box_step(), "Träger 2.STP")

    assert response.status_code == 201
    assert response.json()["filename"] == "Träger 2.STP"

