"""GET /api/revisions/{id}/preview/: the PNG thumbnail of a revision's 3D model, and where it is listed."""

import pytest
from django.urls import reverse

from audit.models import FileAccess
from conftest import client_for
from files.conversion import revision_render_preview
from files.models import Revision
from files.storage import vault
from files.tests.helpers import convert_now, post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

on_both_backends = pytest.mark.usefixtures("storage_backend")


def upload(client, part, content=None, filename="bracket.step"):
    response = post_file(client, part, content or box_step(), filename)
    assert response.status_code == 201, response.json()
    return Revision.objects.get(pk=response.json()["id"])


def stored_preview(revision):
    return b"".join(vault().chunks(revision.preview_key))


@pytest.fixture
def as_roleless(roleless):
    return client_for(roleless)


@pytest.fixture
def previewed(as_fabricator):
    """A converted revision, with the preview the conversion drew."""
    revision = upload(as_fabricator, make_part())
    revision = convert_now(revision.pk)
    assert revision.has_preview, revision.preview_error
    return revision


@on_both_backends
def test_the_preview_is_the_stored_png_served_inline(as_viewer, previewed):
    response = as_viewer.get(reverse("revision-preview", args=[previewed.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="bracket.png"'
    assert response.content == stored_preview(previewed)
    assert response.content.startswith(b"\x89PNG")


def test_the_revision_and_its_part_list_the_preview_url(as_viewer, previewed):
    revision = as_viewer.get(f"/api/revisions/{previewed.pk}/").json()
    part = as_viewer.get(f"/api/parts/{previewed.part_id}/").json()

    assert revision["preview_url"] == f"http://testserver{previewed.preview_url}"
    assert revision["preview_error"] == ""
    assert part["latest_revision"]["preview_url"] == revision["preview_url"]
    assert as_viewer.get(revision["preview_url"]).status_code == 200


def test_a_revision_without_a_preview_lists_none_and_shows_a_placeholder(as_viewer, as_fabricator):
    revision = upload(as_fabricator, make_part())

    body = as_viewer.get(f"/api/revisions/{revision.pk}/").json()

    assert revision.has_preview is False
    assert revision.preview_url is None
    assert body["preview_url"] is None


def test_the_preview_url_names_the_image_so_browsers_may_keep_it(as_viewer, previewed):
    response = as_viewer.get(previewed.preview_url)

    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["ETag"] == f'"{previewed.preview_key.split("/")[1].removesuffix(".png")}"'


def test_a_browser_asking_without_the_image_name_revalidates_and_gets_304_when_unchanged(as_viewer, previewed):
    url = reverse("revision-preview", args=[previewed.pk])
    first = as_viewer.get(url)

    again = as_viewer.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["Cache-Control"] == "private, no-cache"
    assert again.status_code == 304
    assert again.content == b""


def test_a_new_preview_has_a_new_url_and_etag(as_viewer, previewed):
    old_url, old_etag = previewed.preview_url, as_viewer.get(previewed.preview_url)["ETag"]

    revision_render_preview(previewed.pk)

    redrawn = Revision.objects.get(pk=previewed.pk)
    assert redrawn.preview_url != old_url
    response = as_viewer.get(reverse("revision-preview", args=[previewed.pk]), HTTP_IF_NONE_MATCH=old_etag)
    assert response.status_code == 200
    assert response["ETag"] != old_etag
    assert response.content == stored_preview(redrawn)


def test_viewing_a_preview_is_not_recorded_as_a_file_access(as_viewer, previewed):
    as_viewer.get(previewed.preview_url)

    assert not FileAccess.objects.exists()


def test_there_is_no_preview_before_the_conversion(as_viewer, as_fabricator):
    revision = upload(as_fabricator, make_part())

    response = as_viewer.get(reverse("revision-preview", args=[revision.pk]))

    assert response.status_code == 404
    assert response.json()["detail"] == "R1 has no preview yet: its 3D model is waiting."
    assert response.json()["conversion_status"] == "pending"


def test_a_drawing_has_no_preview(as_viewer, as_fabricator):
    revision = upload(as_fabricator, make_part(), pdf_bytes(), "bracket.pdf")

    response = as_viewer.get(reverse("revision-preview", args=[revision.pk]))

    assert response.status_code == 404
    assert response.json()["detail"] == "D1 is a drawing; only STEP revisions have a preview."


def test_a_preview_that_could_not_be_drawn_says_why(as_viewer, as_fabricator, settings):
    settings.PREVIEW_TIMEOUT_SECONDS = 0.01
    revision = upload(as_fabricator, make_part())
    convert_now(revision.pk)

    response = as_viewer.get(reverse("revision-preview", args=[revision.pk]))

    assert response.status_code == 404
    assert response.json()["detail"] == "No preview of R1 could be drawn: drawing it timed out after 0.01 s"
    assert response.json()["preview_error"] == "drawing it timed out after 0.01 s"
    assert as_viewer.get(f"/api/revisions/{revision.pk}/").json()["preview_error"] == (
        "drawing it timed out after 0.01 s"
    )


def test_a_preview_of_an_unknown_revision_is_404(as_viewer):
    assert as_viewer.get(reverse("revision-preview", args=[999999])).status_code == 404


CLIENTS = ["as_lead", "as_fabricator", "as_viewer", "as_roleless", "anonymous"]


@pytest.mark.parametrize("client_name,status", list(zip(CLIENTS, [200, 200, 200, 403, 401])))
def test_every_role_may_see_a_preview(request, previewed, client_name, status):
    client = request.getfixturevalue(client_name)

    response = client.get(previewed.preview_url)

    assert response.status_code == status
    assert response.content.startswith(b"\x89PNG") == (status == 200)


def test_a_signed_in_browser_sees_previews_with_its_session(client, viewer, previewed):
    client.force_login(viewer)

    assert client.get(previewed.preview_url).status_code == 200


# Deleting


@on_both_backends
def test_deleting_a_revision_removes_its_preview(as_lead, previewed, django_capture_on_commit_callbacks):
    assert previewed.preview_key in stored_keys()

    with django_capture_on_commit_callbacks(execute=True):
        assert as_lead.delete(f"/api/revisions/{previewed.pk}/").status_code == 204

    assert stored_keys() == []


@on_both_backends
def test_deleting_a_part_removes_its_revisions_previews(as_lead, previewed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert as_lead.delete(f"/api/parts/{previewed.part_id}/").status_code == 204

    assert stored_keys() == []
