"""Scaling out: two web processes and a worker, sharing only PostgreSQL, Redis and S3.

Each process has a data dir of its own, as if on its own machine: a file uploaded through
one web process is downloaded through the other, and converted by the worker. Runs when
DATABASE_URL names a PostgreSQL server and CELERY_BROKER_URL a Redis one (CI's stage 3).

The processes use a database of their own, created here (they cannot see the test
database's uncommitted transactions), and prefix their Redis keys with REDIS_KEY_PREFIX:
the other tests hold Redis databases 0 to 15 and none of them use that prefix.
"""

import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from files.tests.samples import box_step

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT_SECONDS = 120


def _services():
    """(database URL, broker URL, cache URL), or a reason to skip."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres") or not broker_url.startswith("redis"):
        return None, "needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://..."
    try:
        import psycopg
        import redis

        psycopg.connect(_maintenance_url(database_url), connect_timeout=3).close()
        redis.Redis.from_url(broker_url, socket_connect_timeout=3).ping()
    except Exception as error:  # any failure to reach them is a reason to skip, named
        return None, f"PostgreSQL or Redis does not answer: {type(error).__name__}: {error}"
    cache_url = os.environ.get("CACHE_URL", "") or broker_url
    return (database_url, broker_url, cache_url), ""


def _maintenance_url(database_url):
    return database_url.rsplit("/", 1)[0] + "/postgres"


SERVICES, SKIP_REASON = _services()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SERVICES is None, reason=SKIP_REASON)]


@pytest.fixture(scope="module")
def database():
    """A fresh PostgreSQL database beside the one DATABASE_URL names, dropped afterwards."""
    import psycopg

    database_url = SERVICES[0]
    name = f"{database_url.rsplit('/', 1)[1]}_scale_out_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{database_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def bucket(moto_endpoint):
    name = f"partsite-{uuid.uuid4().hex[:16]}"
    s3 = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.fixture(scope="module")
def environment(database, bucket, moto_endpoint):
    """The settings every process shares; each adds a data dir of its own."""
    import redis

    _, broker_url, cache_url = SERVICES
    prefix = f"scale-out-{uuid.uuid4().hex[:8]}:"
    yield {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": cache_url,
        "REDIS_KEY_PREFIX": prefix,
        "AWS_STORAGE_BUCKET_NAME": bucket[1],
        "AWS_S3_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LOG_LEVEL": "WARNING",
    }
    for url in {broker_url, cache_url}:
        client = redis.Redis.from_url(url)
        # The cache puts its own ":1:" version marker after the prefix.
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


class Processes:
    """Starts processes in their own process groups and ends every one of them, whatever happens."""

    def __init__(self, tmp_path, environment):
        self.tmp_path, self.environment, self.running = tmp_path, environment, []

    def data_dir(self, name):
        return {**self.environment, "PARTSITE_DATA_DIR": str(self.tmp_path / name)}

    def manage(self, *args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.data_dir("admin"),
            capture_output=True, text=True, timeout=WAIT_SECONDS,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start(self, name, *command, **environment):
        log = self.tmp_path / f"{name}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**self.data_dir(name), **environment},
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.running.append(process)
        return process, log

    def web(self, name):
        """A gunicorn on a free port; returns its base URL."""
        process, log = self.start(
            name, str(BIN / "gunicorn"), "partsite.wsgi", "--config", "python:partsite.gunicorn",
            BIND="127.0.0.1:0", WEB_WORKERS="1", WEB_THREADS="2",
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if listening := re.search(r"Listening at: (http://\S+)", log.read_text()):
                return _wait_until_ready(listening[1], process, log)
            assert process.poll() is None, f"{name} stopped:\n{log.read_text()}"
            time.sleep(0.1)
        pytest.fail(f"{name} did not start listening:\n{log.read_text()}")

    def stop_all(self):
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, environment):
    """Migrated, with a fabricator and a viewer; two web processes and a worker running."""
    processes = Processes(tmp_path_factory.mktemp("scale-out"), environment)
    try:
        processes.manage("migrate", "--noinput")
        keys = {"bob": _api_key(processes, "bob", "fabricator"), "carol": _api_key(processes, "carol", "viewer")}
        # The worker first: a web process is ready (/ready/) once a worker consumes every queue.
        worker, worker_log = processes.start(
            "worker", str(BIN / "celery"), "--app", "partsite", "worker", "--queues", "celery,conversions",
            "--concurrency", "1", "--loglevel", "INFO",
        )
        web_a, web_b = processes.web("web-a"), processes.web("web-b")
        yield types.SimpleNamespace(
            web_a=web_a, web_b=web_b, worker=worker, worker_log=worker_log, processes=processes, **keys,
        )
    finally:
        processes.stop_all()


@pytest.fixture
def part(stack):
    status, body = _request(f"{stack.web_a}/api/parts/", stack.bob, {
        "name": "Bracket", "type": "cnc", "material": "6061 aluminium", "subsystem": "Drivetrain",
    })
    assert status == 201, body
    return json.loads(body)


def files_kept_by_web_processes(stack):
    data_dirs = [stack.processes.tmp_path / "web-a", stack.processes.tmp_path / "web-b"]
    return [path for data_dir in data_dirs for path in data_dir.rglob("*") if path.is_file()]


def _wait_until_ready(url, process, log):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} stopped:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"{url}/ready/", timeout=5):
                return url
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"{url} never became ready:\n{log.read_text()}")


def _request(url, key, data=None, content_type="application/json"):
    """(status, body) of an API request; redirects (to presigned S3 links) are followed."""
    headers = {"X-API-Key": key}
    if data is not None:
        headers["Content-Type"] = content_type
        data = json.dumps(data).encode() if content_type == "application/json" else data
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def _multipart(filename, content):
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _api_key(processes, username, role):
    processes.manage("createuser", username, "--role", role)
    return processes.manage("apikey", "create", username).strip().splitlines()[-1]


def _wait_for_conversion(url, key):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        revision = json.loads(_request(url, key)[1])
        if revision["conversion_status"] in ("ready", "failed"):
            return revision
        time.sleep(0.5)
    pytest.fail(f"the conversion did not finish in {WAIT_SECONDS} s: {revision}")


def test_a_file_uploaded_through_one_web_process_is_downloaded_and_converted_through_the_other(stack, part, bucket):
    step = box_step(30, 20, 10)

    status, body = _request(f"{stack.web_a}/api/parts/{part['id']}/revisions/", stack.bob, *_multipart("a.step", step))
    assert status == 201, body
    revision = json.loads(body)

    status, downloaded = _request(f"{stack.web_b}/api/revisions/{revision['id']}/download/", stack.carol)
    assert (status, downloaded) == (200, step)
    s3, bucket_name = bucket
    stored = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket_name)["Contents"]]
    assert step in [s3.get_object(Bucket=bucket_name, Key=key)["Body"].read() for key in stored]
    converted = _wait_for_conversion(f"{stack.web_b}/api/revisions/{revision['id']}/", stack.carol)
    assert converted["conversion_status"] == "ready", f"{converted}\n{stack.worker_log.read_text()}"
    assert converted["bbox_mm"] == [30.0, 20.0, 10.0]
    status, model = _request(f"{stack.web_b}/api/revisions/{revision['id']}/model/", stack.carol)
    assert status == 200
    assert model[:4] == b"glTF"
    assert stack.worker.poll() is None, stack.worker_log.read_text()
    assert files_kept_by_web_processes(stack) == []


def test_a_direct_upload_started_on_one_web_process_is_completed_on_the_other(stack, part):
    step = box_step(12, 12, 12)
    status, body = _request(f"{stack.web_b}/api/parts/{part['id']}/uploads/", stack.bob, {
        "filename": "direct.step", "size": len(step), "sha256": hashlib.sha256(step).hexdigest(),
    })
    assert status == 201, body
    upload = json.loads(body)

    for piece in upload["parts"]:
        start = (piece["number"] - 1) * upload["part_size"]
        request = urllib.request.Request(
            piece["url"], data=step[start : start + upload["part_size"]], method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(request, timeout=60) as stored:
            assert stored.status == 200
    status, body = _request(f"{stack.web_a}/api/uploads/{upload['id']}/complete/", stack.bob, {})

    assert status == 201, body
    revision = json.loads(body)
    status, downloaded = _request(f"{stack.web_b}/api/revisions/{revision['id']}/download/", stack.carol)
    assert (status, downloaded) == (200, step)
    assert files_kept_by_web_processes(stack) == []
