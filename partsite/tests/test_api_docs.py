"""The OpenAPI schema and its two readers, served from Partsite itself (no internet needed)."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_describes_the_parts_api_and_the_key_header(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert {"/api/parts/", "/api/parts/{id}/", "/api/parts/{id}/claim/", "/api/auth/check/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
    }


def test_every_operation_accepts_the_key_header(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    parts_list = schema["paths"]["/api/parts/"]["get"]
    assert {"ApiKeyAuth": []} in parts_list["security"]


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_nothing_from_the_internet(client, page):
    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page should load its scripts from Partsite"
    # Static files, and Swagger UI's setup script, which is a file of its own for the CSP's sake.
    assert all(url.startswith("/static/") or url == "/api/docs/?script=" for url in assets), assets


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_assets_are_served(client, page):
    html = client.get(page).content.decode()

    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content) if response.streaming else response.content, url


def test_the_docs_pages_point_at_the_schema(client):
    assert b"/api/schema/" in client.get("/api/docs/?script=").content  # Swagger UI's setup script
    assert b"/api/schema/" in client.get("/api/redoc/").content


def test_the_schema_validates_and_documents_every_endpoint_without_guesswork():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    # --fail-on-warn: an endpoint whose types drf-spectacular had to guess fails this test.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=StringIO())

    schema = out.getvalue()
    for path in ("/api/parts/{id}/approve/", "/api/parts/{part_pk}/revisions/", "/api/uploads/{id}/complete/",
                 "/api/revisions/{id}/model/"):
        assert path in schema


def test_clients_asking_for_the_schema_together_are_served_one_at_a_time(db, monkeypatch):
    """drf-spectacular's first schema in a process loads its extensions lazily, which two threads at
    once get wrong (a 500): the schema is drawn by one thread at a time."""
    import threading
    import time

    from django.test import Client
    from drf_spectacular.generators import SchemaGenerator

    drawing, most = [0], [0]
    draw = SchemaGenerator.get_schema

    def slow_draw(self, *args, **kwargs):
        drawing[0] += 1
        most[0] = max(most[0], drawing[0])
        time.sleep(0.2)
        try:
            return draw(self, *args, **kwargs)
        finally:
            drawing[0] -= 1

    monkeypatch.setattr(SchemaGenerator, "get_schema", slow_draw)
    answers = []
    clients = [threading.Thread(target=lambda: answers.append(Client().get("/api/schema/").status_code))
               for _ in range(3)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()

    assert answers == [200, 200, 200]
    assert most[0] == 1
