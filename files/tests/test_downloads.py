"""Downloading revisions: exact bytes, byte ranges, presigned links, and a record of who fetched what."""

import hashlib
import os
from urllib.parse import parse_qs, urlsplit
from wsgiref.util import FileWrapper as WsgirefFileWrapper

import pytest
from gunicorn.http.wsgi import FileWrapper

from audit.models import FileAccess
from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

CONTENT = box_step(padding=300_000)


@pytest.fixture
def revision(as_fabricator):
    return post_file(as_fabricator, make_part(), CONTENT, "Träger 1.step").json()


def download(client, revision, **headers):
    return fetch(client, f"/api/revisions/{revision['id']}/download/", **headers)


@pytest.mark.usefixtures("storage_backend")
@pytest.mark.parametrize(
    "header,first,last",
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, len(CONTENT) - 1), ("bytes=-500", len(CONTENT) - 500,
                                                                       len(CONTENT) - 1)],
)
def test_a_byte_range_gets_just_those_bytes(as_viewer, revision, header, first, last):
    status, headers, body = download(as_viewer, revision, HTTP_RANGE=header)

    assert status == 206
    assert body == CONTENT[first:last + 1]
    assert {name.lower(): value for name, value in headers.items()}["content-range"] == (
        f"bytes {first}-{last}/{len(CONTENT)}"
    )


@pytest.mark.usefixtures("storage_backend")
def test_the_download_name_is_the_original_filename_even_with_accents(as_viewer, revision):
    status, headers, body = download(as_viewer, revision)

    disposition = {name.lower(): value for name, value in headers.items()}["content-disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=utf-8''Tr%C3%A4ger%201.step" in disposition
    assert hashlib.sha256(body).hexdigest() == revision["sha256"]


def test_a_range_past_the_end_is_416(as_viewer, revision):
    response = as_viewer.get(f"/api/revisions/{revision['id']}/download/", HTTP_RANGE=f"bytes={len(CONTENT)}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CONTENT)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "lines=1-2", "bytes=9-2"])
def test_ranges_it_does_not_serve_get_the_whole_file(as_viewer, revision, header):
    status, headers, body = download(as_viewer, revision, HTTP_RANGE=header)

    assert (status, body) == (200, CONTENT)


def test_a_range_for_an_older_version_gets_the_whole_file(as_viewer, revision):
    status, _, body = download(as_viewer, revision, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"another-version"')

    assert (status, body) == (200, CONTENT)


def test_a_resumed_download_can_check_it_is_the_same_file(as_viewer, revision):
    _, headers, _ = download(as_viewer, revision)

    status, _, body = download(as_viewer, revision, HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=headers["ETag"])

    assert (status, body) == (206, CONTENT[10:20])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_on_s3_the_link_is_presigned_short_lived_and_for_the_public_host(storage_backend, settings, as_viewer,
                                                                           revision):
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = "https://files.example.com"
    settings.DOWNLOAD_LINK_EXPIRE_SECONDS = 120

    response = as_viewer.get(f"/api/revisions/{revision['id']}/download/")

    assert response.status_code == 302
    link = urlsplit(response["Location"])
    query = parse_qs(link.query)
    assert link.netloc == "files.example.com"
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "Tr%C3%A4ger" in query["response-content-disposition"][0]


@pytest.mark.usefixtures("storage_backend")
def test_every_download_and_preview_is_recorded(as_viewer, viewer, revision, converted_revision):
    download(as_viewer, revision)
    fetch(as_viewer, converted_revision["model_url"])

    accesses = list(FileAccess.objects.order_by("at", "id"))
    assert [(access.access, access.user, access.revision_id) for access in accesses] == [
        ("download", viewer, revision["id"]),
        ("model", viewer, converted_revision["id"]),
    ]
    assert revision["sha256"] in accesses[0].what and "R1 Träger 1.step" in accesses[0].what


@pytest.fixture
def converted_revision(as_fabricator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = post_file(as_fabricator, make_part(), box_step()).json()
    return as_fabricator.get(f"/api/revisions/{created['id']}/").json()


def test_the_record_outlives_the_revision(as_lead, revision):
    download(as_lead, revision)

    as_lead.delete(f"/api/revisions/{revision['id']}/")

    access = FileAccess.objects.get()
    assert access.revision is None
    assert "Träger 1.step" in access.what


def test_each_role_may_download_but_not_without_one(as_lead, as_fabricator, as_viewer, roleless, anonymous, revision):
    from conftest import client_for

    url = f"/api/revisions/{revision['id']}/download/"

    assert [client.get(url).status_code for client in (as_lead, as_fabricator, as_viewer)] == [200, 200, 200]
    assert client_for(roleless).get(url).status_code == 403
    assert anonymous.get(url).status_code == 401
    assert FileAccess.objects.count() == 3


@pytest.mark.parametrize("route", ["download", "model"])
def test_an_unknown_revision_is_404(as_viewer, route):
    assert as_viewer.get(f"/api/revisions/999999/{route}/").status_code == 404


def test_a_download_fetched_in_pieces_is_recorded_once(as_viewer, revision):
    for first in range(0, len(CONTENT), 100_000):
        download(as_viewer, revision, HTTP_RANGE=f"bytes={first}-{first + 99_999}")

    assert FileAccess.objects.count() == 1


def stored_path(revision):
    from django.core.files.storage import default_storage

    from files.models import Revision

    return default_storage.path(Revision.objects.get(pk=revision["id"]).storage_key)


def served_by_a_wsgi_server(viewer, url, file_wrapper=FileWrapper, **headers):
    """Run the request through Django's WSGI handler as gunicorn does, with gunicorn's file wrapper.

    Returns the status, the headers, what gunicorn would sendfile() (the file and the position it
    starts from), or None when it would not, and the body's bytes.
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory

    from partsite.services import apikey_create

    _, key = apikey_create(user=viewer)
    environ = RequestFactory().get(url, HTTP_X_API_KEY=key, **headers).environ
    environ["wsgi.file_wrapper"] = file_wrapper
    started = {}
    # As Django's test client does: the test's database connection must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = WSGIHandler()(environ, lambda status, headers: started.update(status=status, headers=dict(headers)))
        try:
            sendfile = None
            if isinstance(body, file_wrapper):  # gunicorn's test before it sendfile()s
                descriptor = body.filelike.fileno()
                sendfile = os.fstat(descriptor), os.lseek(descriptor, 0, os.SEEK_CUR)
            return started["status"], started["headers"], sendfile, b"".join(body)
        finally:
            body.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_a_whole_file_on_disk_goes_to_the_server_as_the_open_file_so_it_can_sendfile_it(viewer, revision):
    status, headers, sendfile, body = served_by_a_wsgi_server(viewer, f"/api/revisions/{revision['id']}/download/")

    assert status.startswith("200")
    opened, position = sendfile
    assert os.path.samestat(opened, os.stat(stored_path(revision)))
    assert position == 0
    assert headers["Content-Length"] == str(len(CONTENT))
    assert body == CONTENT


# wsgiref's wrapper (runserver's) reads the file to its end: the range must stop it.
@pytest.mark.parametrize("file_wrapper", [FileWrapper, WsgirefFileWrapper], ids=["gunicorn", "wsgiref"])
def test_a_range_on_disk_goes_to_the_server_as_the_open_file_at_its_first_byte(viewer, revision, file_wrapper):
    status, headers, sendfile, body = served_by_a_wsgi_server(
        viewer, f"/api/revisions/{revision['id']}/download/", file_wrapper, HTTP_RANGE="bytes=1000-2999"
    )

    assert status.startswith("206")
    opened, position = sendfile
    assert os.path.samestat(opened, os.stat(stored_path(revision)))
    assert position == 1000
    assert headers["Content-Length"] == "2000"
    assert body == CONTENT[1000:3000]


def test_a_file_missing_from_storage_is_404_saying_so(as_viewer, revision):
    os.unlink(stored_path(revision))

    response = as_viewer.get(f"/api/revisions/{revision['id']}/download/")

    assert response.status_code == 404
    assert "Träger 1.step is missing from storage" in response.json()["detail"]
