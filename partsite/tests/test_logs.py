"""Structured logs: a JSON line per request and per task, in the console and a rotating file, with no secrets."""

import json
import logging
import logging.config
import os
import subprocess
import sys

import pytest
from django.test import Client
from rest_framework.test import APIClient

from partsite.celery import app as celery_app
from partsite.logs import logging_config
from partsite.services import apikey_create, user_create

PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "tr0ub4dor&3-not-it"


@pytest.fixture
def log_file(tmp_path, settings, caplog):
    """Logging as a deployment with PARTSITE_LOG_FILE has it, for one test; returns the file's JSON lines."""
    path = tmp_path / "logs" / "partsite.log"
    path.parent.mkdir()
    logging.config.dictConfig(logging_config(level="DEBUG", file=path))
    logging.getLogger().addHandler(caplog.handler)  # dictConfig replaced the root's handlers, pytest's too
    caplog.set_level(logging.DEBUG)

    def lines():
        for handler in logging.getLogger().handlers:
            handler.flush()
        return [json.loads(line) for line in path.read_text().splitlines()]

    lines.text = lambda: path.read_text()
    yield lines
    logging.config.dictConfig(settings.LOGGING)


def request_lines(lines):
    return [line for line in lines if line["logger"] == "partsite.request"]


def test_each_request_is_one_line_with_who_what_and_how_it_went(log_file, viewer):
    _, key = apikey_create(user=viewer)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    client.get("/api/parts/", {"status": "pending"})
    client.post("/api/parts/", {"name": "Bracket"}, format="json")

    first, second = request_lines(log_file())
    assert {key: first[key] for key in ("method", "path", "view", "status", "outcome", "user", "auth")} == {
        "method": "GET", "path": "/api/parts/", "view": "part-list", "status": 200, "outcome": "ok",
        "user": "carol", "auth": "api_key",
    }
    assert first["duration_ms"] >= 0 and first["level"] == "INFO" and first["time"].endswith("Z")
    assert (second["status"], second["outcome"], second["user"]) == (403, "refused", "carol")
    assert "status=pending" not in log_file.text()


def test_an_anonymous_request_is_logged_without_a_user(log_file, db):
    Client().get("/api/parts/")

    [line] = request_lines(log_file())
    assert (line["path"], line["status"], line["user"], line["auth"]) == ("/api/parts/", 401, None, None)


def test_a_refused_request_is_one_line(log_file, db):
    Client().get("/api/parts/")
    Client().get("/api/parts/", HTTP_X_API_KEY="ps_0123456789abcdef.not-a-key")

    lines = [line for line in log_file() if "/api/parts/" in json.dumps(line)]
    assert [(line["logger"], line["status"]) for line in lines] == [("partsite.request", 401), ("partsite.request", 401)]


def test_a_server_error_is_still_logged_with_its_traceback(log_file, db, monkeypatch):
    from partsite import api

    monkeypatch.setattr(api.AuthCheckView, "get", lambda *args: 1 / 0)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user_create(username="ivan", role="viewer"))

    assert client.get("/api/auth/check/").status_code == 500

    [error] = [line for line in log_file() if line["logger"] == "django.request"]
    assert error["level"] == "ERROR" and "ZeroDivisionError" in error["exc_info"]


def test_python_warnings_are_log_lines_too(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import django, warnings; django.setup(); warnings.warn('mind the gap')"],
        env={**os.environ, "PARTSITE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "partsite.settings"},
        capture_output=True, text=True, timeout=120,
    )

    [line] = [json.loads(line) for line in result.stderr.splitlines() if "mind the gap" in line]
    assert (line["logger"], line["level"]) == ("py.warnings", "WARNING")


def test_a_session_request_names_its_user(log_file, lead):
    client = Client()
    client.force_login(lead)

    client.get("/api/auth/check/")

    [line] = request_lines(log_file())
    assert (line["user"], line["auth"]) == ("alice", "session")


@celery_app.task(name="partsite.tests.explode")
def explode():
    raise RuntimeError("the converter caught fire")


def test_each_task_is_one_line_with_its_outcome(log_file, db):
    from files.tasks import expire_uploads

    finished = expire_uploads.delay()
    explode.delay()

    lines = [line for line in log_file() if line["logger"] == "partsite.task"]
    assert [(line["task"], line["outcome"], line["level"]) for line in lines] == [
        ("files.tasks.expire_uploads", "success", "INFO"),
        ("partsite.tests.explode", "failure", "ERROR"),
    ]
    assert lines[0]["task_id"] == finished.id
    assert lines[1]["error"] == "RuntimeError: the converter caught fire"


def test_api_keys_and_passwords_never_reach_the_logs(log_file, caplog, db):
    user_create(username="grace", role="lead", password=PASSWORD)
    _, key = apikey_create(user=user_create(username="heidi", role="viewer"))
    secret = key.split(".", 1)[1]
    with_key = APIClient()
    with_key.credentials(HTTP_X_API_KEY=key)

    with_key.get("/api/parts/")
    with_key.get("/api/parts/999999/")
    APIClient().get("/api/parts/", {"api_key": key})
    APIClient().get(f"/api/parts/?note={key}")
    APIClient().get("/api/parts/", HTTP_X_API_KEY=key + "-tampered")
    for page in ("/admin/login/", "/api-auth/login/"):
        Client().post(page, {"username": "grace", "password": PASSWORD})
        Client().post(page, {"username": "grace", "password": WRONG_PASSWORD})
        Client().post(page, {"username": "nobody", "password": WRONG_PASSWORD})

    written = log_file.text()
    assert len(request_lines(log_file())) == 11  # every request was logged...
    assert "Unauthorized: /api/parts/" in caplog.text  # ...and so were Django's own warnings
    for text in (written, caplog.text):
        assert secret not in text and key not in text
        assert PASSWORD not in text and WRONG_PASSWORD not in text


def test_the_log_file_rotates_at_its_size_limit(tmp_path, settings):
    path = tmp_path / "partsite.log"
    config = logging_config(file=path, file_max_mb=1, file_backups=2)
    config["handlers"]["file"]["maxBytes"] = 2000
    logging.config.dictConfig(config)
    try:
        for number in range(100):
            logging.getLogger("partsite.test").info("line %d of the rotation test", number)
    finally:
        logging.config.dictConfig(settings.LOGGING)

    assert sorted(p.name for p in tmp_path.glob("partsite.log*") if not p.name.endswith(".lock")) == [
        "partsite.log", "partsite.log.1", "partsite.log.2",
    ]
