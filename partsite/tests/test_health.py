"""GET /health/ (the process is up) and GET /ready/ (and so is everything it needs)."""

import pytest

from partsite import health


def test_health_answers_without_touching_anything(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_needs_no_credentials_and_refuses_writes(client):
    assert client.post("/health/").status_code == 405


@pytest.mark.django_db
def test_ready_when_database_storage_and_broker_answer(client):
    response = client.get("/ready/")

    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ready"}


def _refuse():
    raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["database", "storage", "broker"])
def test_ready_is_503_naming_the_dependency_that_does_not_answer(client, monkeypatch, failing):
    monkeypatch.setitem(health.CHECKS, failing, _refuse)

    response = client.get("/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == f"Not answering: {failing}."
    assert set(body["failing"]) == {failing}
    assert "Connection refused" in body["failing"][failing]


@pytest.mark.django_db
def test_ready_names_every_dependency_that_does_not_answer(client, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "storage", _refuse)
    monkeypatch.setitem(health.CHECKS, "broker", _refuse)

    response = client.get("/ready/")

    assert response.json()["detail"] == "Not answering: storage, broker."


@pytest.mark.django_db
def test_ready_notices_a_broker_that_is_really_unreachable(client, monkeypatch):
    # Port 1 on the loopback refuses at once: a real connection attempt, no waiting.
    monkeypatch.setitem(health.celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")

    response = client.get("/ready/")

    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"broker"}


def test_probes_answer_on_a_bare_address_over_http_when_production_refuses_both(client, settings):
    settings.ALLOWED_HOSTS = ["parts.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/api/docs/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/api/docs/", HTTP_HOST="parts.example.com").status_code == 301
