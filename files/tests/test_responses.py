"""files/responses.py: every route that serves a file records who fetched it, once, and a HEAD never."""

import pytest
from django.test import Client

from audit.models import FileAccess
from files.models import Revision
from files.tests.helpers import approve_by_name, convert_now, fetch, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture
def bracket(as_lead, as_fabricator):
    """A part built from its STEP revision R1, with a drawing D1."""
    part = make_part(part_number="P-BRACKET")
    for content, filename in [(box_step(), "bracket.step"), (pdf_bytes(), "bracket.pdf")]:
        assert post_file(as_fabricator, part, content, filename).status_code == 201
    for client, move in [(as_lead, "approve"), (as_fabricator, "claim"), (as_fabricator, "complete")]:
        moved = approve_by_name(client, part) if move == "approve" else client.post(f"/api/parts/{part.pk}/{move}/")
        assert moved.status_code == 200
    return part


def step_of(part):
    return Revision.objects.get(part=part, kind="step")


def drawing_of(part):
    return Revision.objects.get(part=part, kind="drawing")


def model_url(part):
    return f"/api/revisions/{convert_now(step_of(part).pk).pk}/model/"


# Each route that serves a file: its URL for the part, and what a GET of it records.
FILE_ROUTES = {
    "revision download": (lambda part: f"/api/revisions/{step_of(part).pk}/download/",
                          lambda part: ("download", step_of(part), part.pk)),
    "part download": (lambda part: f"/api/parts/{part.pk}/download/",
                      lambda part: ("download", step_of(part), part.pk)),
    "built download": (lambda part: f"/api/parts/{part.pk}/built/download/",
                       lambda part: ("download", step_of(part), part.pk)),
    "3D model": (model_url, lambda part: ("model", step_of(part), part.pk)),
    "drawing shown in the browser": (lambda part: f"/parts/{part.pk}/drawings/{drawing_of(part).pk}/",
                                     lambda part: ("download", drawing_of(part), part.pk)),
    "ZIP archive": (lambda part: "/api/parts/archive/", lambda part: ("archive", None, None)),
}


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("route", list(FILE_ROUTES))
def test_every_file_route_records_one_access_for_a_get(route, bracket, as_viewer, viewer):
    url_of, recorded = FILE_ROUTES[route]
    url = url_of(bracket)
    client = page_client(viewer) if url.startswith("/parts/") else as_viewer

    status, _, body = fetch(client, url)

    assert status == 200 and body
    access = FileAccess.objects.get()
    assert (access.access, access.revision, access.part_id) == recorded(bracket)
    assert access.user == viewer


@pytest.mark.parametrize("route", list(FILE_ROUTES))
def test_no_file_route_records_a_head(route, bracket, as_viewer, viewer):
    url = FILE_ROUTES[route][0](bracket)
    client = page_client(viewer) if url.startswith("/parts/") else as_viewer

    response = client.head(url)

    assert response.status_code in (200, 302)
    assert not FileAccess.objects.exists()
