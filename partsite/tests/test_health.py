"""GET /health/ (the process is up) and GET /ready/ (and so is everything it needs)."""

import re
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from partsite import health, heartbeat
from partsite.celery import app
from partsite.testing import small_file_system


@pytest.fixture
def worker_consuming():
    """What a running worker does every few seconds: note that it consumes every queue."""
    heartbeat.note_consuming(django_settings.CELERY_TASK_QUEUES)


def test_health_answers_without_touching_anything(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_needs_no_credentials_and_refuses_writes(client):
    assert client.post("/health/").status_code == 405


@pytest.mark.django_db
def test_ready_when_database_storage_and_broker_answer(client, worker_consuming):
    response = client.get("/ready/")

    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ready"}


def _refuse():
    raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["database", "storage", "broker", "cache", "disk", "worker"])
def test_ready_is_503_naming_the_dependency_that_does_not_answer(client, monkeypatch, worker_consuming, failing):
    monkeypatch.setitem(health.CHECKS, failing, _refuse)

    response = client.get("/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == f"Not answering: {failing}."
    assert set(body["failing"]) == {failing}
    assert "Connection refused" in body["failing"][failing]


@pytest.mark.django_db
def test_ready_names_every_dependency_that_does_not_answer(client, monkeypatch, worker_consuming):
    monkeypatch.setitem(health.CHECKS, "storage", _refuse)
    monkeypatch.setitem(health.CHECKS, "broker", _refuse)

    response = client.get("/ready/")

    assert response.json()["detail"] == "Not answering: storage, broker."


@pytest.mark.django_db
def test_ready_notices_a_broker_that_is_really_unreachable(client, monkeypatch, worker_consuming):
    # Port 1 on the loopback refuses at once: a real connection attempt, no waiting.
    monkeypatch.setitem(health.celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")

    response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"broker"}


@pytest.mark.django_db
def test_ready_names_a_cache_that_does_not_answer(client, settings, worker_consuming):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}

    response = client.get("/ready/")

    assert response.status_code == 503
    # The workers' notes live in the cache too: with it gone, nobody can tell whether they consume.
    assert set(response.json()["failing"]) == {"cache", "worker"}


@pytest.mark.django_db
def test_ready_names_a_read_only_data_directory(client, settings, tmp_path, worker_consuming):
    with small_file_system(tmp_path / "read-only", read_only=True) as read_only:
        settings.FILE_UPLOAD_TEMP_DIR = read_only

        response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"disk"}
    assert "Read-only file system" in response.json()["failing"]["disk"]


@pytest.mark.django_db
def test_ready_names_read_only_file_storage(client, settings, tmp_path, worker_consuming):
    with small_file_system(tmp_path / "read-only", read_only=True) as read_only:
        settings.MEDIA_ROOT = read_only

        response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"storage"}
    assert "Read-only file system" in response.json()["failing"]["storage"]


@pytest.mark.django_db
def test_ready_names_a_missing_data_directory(client, settings, tmp_path, worker_consuming):
    gone = tmp_path / "gone"
    settings.DATA_DIR = gone
    settings.MEDIA_ROOT = gone / "media"
    settings.UPLOAD_PARTS_DIR = gone / "uploads"

    response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"disk", "storage"}
    assert f"{gone} is missing" in response.json()["failing"]["disk"]
    assert "missing" in response.json()["failing"]["storage"]


@pytest.mark.django_db
@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_ready_names_a_missing_bucket(client, settings, storage_backend, worker_consuming):
    import boto3

    boto3.client(
        "s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).delete_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)

    response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"storage"}
    assert f"the bucket {settings.AWS_STORAGE_BUCKET_NAME} does not exist" in response.json()["failing"]["storage"]


@pytest.mark.django_db
def test_ready_names_the_queues_that_no_worker_consumes(client):
    response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"worker"}
    assert "no worker consumes the celery queue, the conversions queue" in response.json()["failing"]["worker"]


@pytest.fixture
def memory_broker(monkeypatch):
    """Kombu's in-memory broker, for a worker running in this process."""
    monkeypatch.setenv("CELERY_BROKER_URL", "memory://")  # Celery prefers it to its configuration
    monkeypatch.setitem(app.conf, "broker_url", "memory://")
    monkeypatch.setitem(app.conf, "task_always_eager", False)


@pytest.mark.django_db
def test_ready_follows_a_real_worker_and_names_it_once_it_has_stopped_answering(client, settings, memory_broker):
    settings.WORKER_HEARTBEAT_SECONDS = 0.2
    settings.WORKER_STALE_SECONDS = 1

    with start_worker(app, pool="solo", perform_ping_check=False):
        assert client.get("/ready/").status_code == 200

    time.sleep(1.5)
    response = client.get("/ready/")
    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"worker"}
    assert re.search(r"the celery queue \(last heard \d+ s ago\)", response.json()["failing"]["worker"])


@pytest.mark.django_db
def test_ready_answers_in_time_naming_a_dependency_that_hangs(client, monkeypatch, worker_consuming):
    monkeypatch.setitem(health.CHECKS, "database", lambda: time.sleep(health.PROBE_TIMEOUT_SECONDS + 5))

    started = time.monotonic()
    response = client.get("/ready/")

    assert time.monotonic() - started < health.PROBE_TIMEOUT_SECONDS + 2
    assert response.status_code == 503
    assert response.json()["failing"] == {"database": f"no answer within {health.PROBE_TIMEOUT_SECONDS} s"}


def test_probes_answer_on_a_bare_address_over_http_when_production_refuses_both(client, settings):
    settings.ALLOWED_HOSTS = ["parts.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/api/docs/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/api/docs/", HTTP_HOST="parts.example.com").status_code == 301
