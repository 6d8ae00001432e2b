"""GET /api/parts/{id}/built/download/: what was built, byte for byte, whatever was uploaded since."""

import hashlib

import pytest

from audit.models import FileAccess
from conftest import client_for
from files.tests.helpers import approve_by_name, fetch, post_file
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

BUILT = box_step(10, 10, 10, padding=200_000)


def upload(client, part, content, filename):
    response = post_file(client, part, content, filename)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def built_part(as_lead, as_fabricator):
    """A part approved and completed from R1."""
    part = make_part()
    upload(as_fabricator, part, BUILT, "as built.step")
    for client, move in [(as_lead, "approve"), (as_fabricator, "claim"), (as_fabricator, "complete")]:
        moved = approve_by_name(client, part) if move == "approve" else client.post(f"/api/parts/{part.pk}/{move}/")
        assert moved.status_code == 200
    return part


def built_url(part):
    return f"/api/parts/{part.pk}/built/download/"


@pytest.mark.usefixtures("storage_backend")
def test_the_built_download_is_the_built_bytes_even_after_newer_revisions(as_fabricator, as_viewer, built_part):
    upload(as_fabricator, built_part, box_step(20, 10, 10), "newer.step")
    upload(as_fabricator, built_part, box_step(30, 10, 10), "newest.step")
    shown = as_viewer.get(f"/api/parts/{built_part.pk}/").json()

    status, headers, body = fetch(as_viewer, built_url(built_part))

    assert status == 200
    assert body == BUILT
    assert hashlib.sha256(body).hexdigest() == shown["built_sha256"] == shown["built_revision"]["sha256"]
    assert (shown["built_revision"]["label"], shown["latest_revision"]["label"]) == ("R1", "R3")
    disposition = {name.lower(): value for name, value in headers.items()}["content-disposition"]
    assert "as built.step" in disposition


def test_the_built_download_is_recorded_like_other_downloads(as_viewer, viewer, built_part):
    fetch(as_viewer, built_url(built_part))

    access = FileAccess.objects.get()
    assert (access.access, access.user, access.revision, access.part_id) == (
        "download", viewer, built_part.revisions.get(number=1), built_part.pk,
    )
    assert built_part.revisions.get(number=1).sha256 in access.what


def test_a_part_not_built_yet_has_nothing_to_download(as_fabricator, as_viewer):
    part = make_part(part_number="P-00042")
    upload(as_fabricator, part, BUILT, "draft.step")

    response = as_viewer.get(built_url(part))

    assert response.status_code == 409
    assert response.json()["detail"] == "P-00042 has not been built yet, so there is no built revision to download."
    assert not FileAccess.objects.exists()


def test_a_reopened_part_still_serves_what_was_built_last(as_lead, as_fabricator, as_viewer, built_part):
    upload(as_fabricator, built_part, box_step(20, 10, 10), "newer.step")
    assert as_lead.post(f"/api/parts/{built_part.pk}/revert/", {"reason": "Wrong hole size"}).status_code == 200

    status, _, body = fetch(as_viewer, built_url(built_part))

    assert (status, body) == (200, BUILT)


def test_every_role_may_download_what_was_built_but_not_without_one(
    as_lead, as_fabricator, as_viewer, roleless, anonymous, built_part
):
    url = built_url(built_part)

    assert [client.get(url).status_code for client in (as_lead, as_fabricator, as_viewer)] == [200, 200, 200]
    assert client_for(roleless).get(url).status_code == 403
    assert anonymous.get(url).status_code == 401


def test_an_unknown_part_is_404(as_viewer):
    assert as_viewer.get("/api/parts/999999/built/download/").status_code == 404


def test_the_part_admin_page_shows_what_was_built_and_its_sha256(client, lead, built_part):
    client.force_login(lead)

    page = client.get(f"/admin/parts/part/{built_part.pk}/change/").content.decode()

    built = page.split("Built from")[1]
    assert "R1 as built.step" in built
    assert built_part.revisions.get(number=1).sha256 in built
