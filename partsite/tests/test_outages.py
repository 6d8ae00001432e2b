"""When something Partsite depends on is down, a client is told so: 503, naming it, with
Retry-After, as JSON on the API and as a page elsewhere; never a bare "Server Error (500)".
Each dependency is really broken here: a closed port, a server that never answers, a full or
read-only file system."""

import json
import socket
import threading
import time

import pytest
import redis
from rest_framework.test import APIClient

from files.tests.helpers import post_file
from files.tests.samples import box_step
from parts.tests.factories import make_part
from partsite import outages
from partsite.services import apikey_create
from partsite.testing import BIN, fetch, free_port, running, site_environment, small_file_system, wait_for

KEY = "ps_0123456789abcdef.Zm9yZ290LXRoaXMtaXMtYS1zZWNyZXQtdmFsdWUtMTIz"


def _assert_names(response_status, headers, body, dependency):
    assert response_status == 503, body
    assert headers["Retry-After"] == str(outages.RETRY_AFTER_SECONDS)
    assert json.loads(body)["unavailable"] == dependency
    assert "not answering" in json.loads(body)["detail"] or dependency == "disk"


# ---- The database, through a real gunicorn ----


@pytest.fixture
def web_with_database_at(tmp_path):
    """Starts gunicorn (one worker, two threads) on a site whose database is at `port`."""
    def start(port, **variables):
        web_port = free_port()
        environment = site_environment(
            tmp_path, BIND=f"127.0.0.1:{web_port}", WEB_WORKERS="1", WEB_THREADS="2",
            DATABASE_URL=f"postgres://partsite@127.0.0.1:{port}/partsite", **variables,
        )
        output = tmp_path / "console.log"
        stack.append(running([BIN / "gunicorn", "partsite.wsgi", "--config", "python:partsite.gunicorn"], environment, output))
        process = stack[-1].__enter__()
        url = f"http://127.0.0.1:{web_port}"
        wait_for(f"{url}/health/", process, output)
        return url

    stack = []
    yield start
    for context in stack:
        context.__exit__(None, None, None)


@pytest.mark.slow
def test_a_database_that_refuses_connections_is_a_json_503_on_the_api_and_a_page_elsewhere(web_with_database_at):
    url = web_with_database_at(free_port())

    _assert_names(*fetch(f"{url}/api/parts/", headers={"X-API-Key": KEY}), "database")
    status, headers, page = fetch(f"{url}/", headers={"Cookie": "sessionid=someones-session"})
    assert (status, headers["Retry-After"]) == (503, str(outages.RETRY_AFTER_SECONDS))
    assert b"The database is not answering" in page and b"<html" in page
    status, _, body = fetch(f"{url}/ready/")
    assert status == 503 and "database" in json.loads(body)["failing"]


@pytest.fixture
def hung_database():
    """A port that accepts connections and then never says a word, like a database that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # never accepted: the kernel completes each handshake, nobody answers
    yield server.getsockname()[1]
    server.close()


@pytest.mark.slow
def test_a_hung_database_cannot_tie_up_the_web_server(web_with_database_at, hung_database):
    url = web_with_database_at(hung_database, DATABASE_CONNECT_TIMEOUT="2")
    answers = []

    def call():
        answers.append(fetch(f"{url}/api/parts/", headers={"X-API-Key": KEY}, timeout=60))

    # Twice as many clients as the server has threads, all waiting on the database at once.
    clients = [threading.Thread(target=call) for _ in range(4)]
    for client in clients:
        client.start()
    started = time.monotonic()
    health = fetch(f"{url}/health/", timeout=60)
    health_seconds = time.monotonic() - started
    ready = fetch(f"{url}/ready/", timeout=60)
    for client in clients:
        client.join()

    for answer in answers:
        _assert_names(*answer, "database")
    assert health[0] == 200 and health_seconds < 20
    assert ready[0] == 503 and "database" in json.loads(ready[2])["failing"]


# ---- Storage, the cache and the disk, in this process ----


@pytest.fixture
def uploader(fabricator):
    _, key = apikey_create(user=fabricator)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=key)
    return client


def _answer(response):
    return response.status_code, response.headers, response.content


@pytest.mark.django_db
def test_storage_that_refuses_connections_is_named(uploader, settings):
    part = make_part()
    settings.AWS_S3_ENDPOINT_URL = settings.AWS_S3_PUBLIC_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.AWS_STORAGE_BUCKET_NAME = "partsite-gone"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}

    _assert_names(*_answer(post_file(uploader, part, box_step())), "storage")


@pytest.mark.django_db
def test_a_cache_that_refuses_connections_is_no_outage_of_the_api(settings, uploader):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}

    assert APIClient(raise_request_exception=False).get("/api/parts/").status_code == 401
    assert uploader.get("/api/parts/").status_code == 200


def test_an_error_of_the_cache_that_reaches_the_top_is_named():
    try:
        redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as error:
        assert outages.unavailable(error) == ("cache", "The cache is not answering.")
    else:
        pytest.fail("a closed port answered")


@pytest.mark.django_db
def test_a_full_disk_is_named(uploader, settings, tmp_path):
    part = make_part()
    with small_file_system(tmp_path / "full", size="1m") as full:
        settings.MEDIA_ROOT = full

        status, headers, body = _answer(post_file(uploader, part, box_step(padding=2 * 1024 * 1024)))

    _assert_names(status, headers, body, "disk")
    assert json.loads(body)["detail"] == "The server's disk is full. Try again in a minute."


@pytest.mark.django_db
def test_a_read_only_disk_is_named(uploader, settings, tmp_path):
    part = make_part()
    with small_file_system(tmp_path / "read-only", read_only=True) as read_only:
        settings.MEDIA_ROOT = read_only

        status, headers, body = _answer(post_file(uploader, part, box_step()))

    _assert_names(status, headers, body, "disk")
    assert json.loads(body)["detail"] == "The server's disk is read-only. Try again in a minute."


def test_a_bug_is_still_a_500(uploader, monkeypatch):
    from partsite import api

    monkeypatch.setattr(api.AuthCheckView, "get", lambda *args: 1 / 0)

    response = uploader.get("/api/auth/check/")

    assert response.status_code == 500
    assert "Retry-After" not in response.headers
