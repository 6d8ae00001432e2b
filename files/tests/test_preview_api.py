"""GET /api/revisions/{id}/preview/: the PNG thumbnail of a revision's 3D model, and where it is listed."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from audit.models import FileAccess
from conftest import client_for
from files.conversion import revision_convert
from files.models import Revision
from files.storage import new_preview_key, object_save
from files.tests.helpers import post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

on_both_backends = pytest.mark.usefixtures("storage_backend")


def upload(client, part, content=None, filename="bracket.step"):
    response = post_file(client, part, content or box_step(), filename)
    assert response.status_code == 201, response.json()
    return Revision.objects.get(pk=response.json()["id"])


def png_bytes(colour=(40, 90, 160)):
    image = Image.new("RGB", (48, 36), (245, 245, 245))
    image.paste(colour, (10, 8, 38, 28))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def give_preview(revision, image=None):
    """Store a preview for the revision the way the worker does: the object first, then the row."""
    key = new_preview_key()
    object_save(key, io.BytesIO(image or png_bytes()))
    Revision.objects.filter(pk=revision.pk).update(preview_key=key, preview_error="")
    revision.refresh_from_db()
    return revision


@pytest.fixture
def as_roleless(roleless):
    return client_for(roleless)


@pytest.fixture
def previewed(as_fabricator):
    revision = upload(as_fabricator, make_part())
    revision_convert(revision.pk)
    revision.refresh_from_db()
    return give_preview(revision, png_bytes())


@on_both_backends
def test_the_preview_is_the_stored_png_served_inline(as_viewer, previewed):
    response = as_viewer.get(reverse("revision-preview", args=[previewed.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="bracket.png"'
    assert response.content == png_bytes()


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

    give_preview(previewed, png_bytes((200, 60, 30)))

    assert previewed.preview_url != old_url
    response = as_viewer.get(reverse("revision-preview", args=[previewed.pk]), HTTP_IF_NONE_MATCH=old_etag)
    assert response.status_code == 200
    assert response.content == png_bytes((200, 60, 30))


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


def test_a_preview_that_could_not_be_drawn_says_why(as_viewer, as_fabricator):
    revision = upload(as_fabricator, make_part())
    revision_convert(revision.pk)
    Revision.objects.filter(pk=revision.pk).update(preview_key="", preview_error="the renderer timed out after 30 s")

    response = as_viewer.get(reverse("revision-preview", args=[revision.pk]))

    assert response.status_code == 404
    assert response.json()["detail"] == "No preview of R1 could be drawn: the renderer timed out after 30 s"
    assert as_viewer.get(f"/api/revisions/{revision.pk}/").json()["preview_error"] == (
        "the renderer timed out after 30 s"
    )


def test_a_preview_of_an_unknown_revision_is_404(as_viewer):
    assert as_viewer.get(reverse("revision-preview", args=[999999])).status_code == 404


CLIENTS = ["as_lead", "as_fabricator", "as_viewer", "as_roleless", "anonymous"]


@pytest.mark.parametrize("client_name,status", list(zip(CLIENTS, [200, 200, 200, 403, 401])))
def test_every_role_may_see_a_preview(request, previewed, client_name, status):
    client = request.getfixturevalue(client_name)

    response = client.get(previewed.preview_url)

    assert response.status_code == status
    assert (response.content == png_bytes()) == (status == 200)


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
