"""Compact models: a GLB over GLB_COMPACT_MIN_BYTES is also stored meshopt-compressed, and that is what the
3D view is sent; the plain GLB stays for the preview and the mesh facts."""

import json
import struct

import pytest

from files import compact
from files.models import Revision
from files.tests.helpers import fetch, post_file, stored_keys
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def converted(as_fabricator, django_capture_on_commit_callbacks):
    def upload(content, filename="block.step"):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(as_fabricator, make_part(), content, filename)
        assert response.status_code == 201, response.json()
        return as_fabricator.get(f"/api/revisions/{response.json()['id']}/").json()

    return upload


def gltf_json(glb):
    length, kind = struct.unpack_from("<I4s", glb, 12)
    assert kind == b"JSON"
    return json.loads(glb[20:20 + length])


@pytest.mark.usefixtures("storage_backend")
def test_a_large_model_is_sent_to_the_3d_view_meshopt_compressed(converted, as_viewer, settings):
    settings.GLB_COMPACT_MIN_BYTES = 0  # every model counts as large

    revision = converted(box_step())

    stored = Revision.objects.get(pk=revision["id"])
    assert stored.glb_compact_key and stored.glb_compact_size > 0
    status, _, body = fetch(as_viewer, revision["model_url"])
    assert status == 200
    assert "EXT_meshopt_compression" in gltf_json(body)["extensionsRequired"]
    assert (len(body), revision["triangles"], revision["preview_url"] is not None) == (stored.glb_compact_size, 12, True)


def test_a_large_model_has_a_coarse_version_with_fewer_triangles_which_is_not_recorded(converted, as_viewer, settings):
    from audit.models import FileAccess

    settings.GLB_COMPACT_MIN_BYTES = 0
    revision = converted(box_step())

    status, _, coarse = fetch(as_viewer, f"{revision['model_url']}?detail=coarse")

    assert status == 200
    assert "EXT_meshopt_compression" in gltf_json(coarse)["extensionsRequired"]
    assert len(coarse) == Revision.objects.get(pk=revision["id"]).glb_coarse_size
    assert FileAccess.objects.filter(revision_id=revision["id"]).count() == 0
    fetch(as_viewer, revision["model_url"])
    assert FileAccess.objects.filter(revision_id=revision["id"]).count() == 1


def test_a_small_model_has_no_coarse_version(converted, as_viewer):
    revision = converted(box_step())

    response = as_viewer.get(f"{revision['model_url']}?detail=coarse")

    assert response.status_code == 404
    assert "only models over 1 MB" in response.json()["detail"]


def test_a_small_model_is_sent_as_converted(converted, as_viewer):
    revision = converted(box_step())

    _, _, body = fetch(as_viewer, revision["model_url"])

    assert Revision.objects.get(pk=revision["id"]).glb_compact_key == ""
    assert "extensionsRequired" not in gltf_json(body)


def test_a_model_that_cannot_be_compacted_is_shown_as_it_is(converted, as_viewer, settings, monkeypatch, tmp_path):
    settings.GLB_COMPACT_MIN_BYTES = 0
    monkeypatch.setattr(compact, "GLTFPACK", tmp_path / "missing" / "cli.js")

    revision = converted(box_step())

    assert revision["conversion_status"] == "ready"
    assert "extensionsRequired" not in gltf_json(fetch(as_viewer, revision["model_url"])[2])


def test_deleting_a_revision_deletes_its_compact_model(converted, as_lead, settings, django_capture_on_commit_callbacks):
    settings.GLB_COMPACT_MIN_BYTES = 0
    revision = converted(box_step())
    assert any(key.endswith(".meshopt.glb") for key in stored_keys())

    with django_capture_on_commit_callbacks(execute=True):
        assert as_lead.delete(f"/api/revisions/{revision['id']}/").status_code == 204

    assert stored_keys() == []
