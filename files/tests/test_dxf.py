"""A plate's DXF for the router or laser: drawn by the worker beside the GLB, served and recorded like any
download, and put in the ZIP archive beside the STEP file."""

import io
import zipfile

import ezdxf
import pytest
from ezdxf import bbox

from audit.models import Access, FileAccess
from files.tests.cad_shapes import step_of
from files.tests.helpers import fetch, post_file
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

# 100 x 60 x 6 mm, three 5 mm holes and one 8 mm hole.
PLATE = (100, 60, 6, 10, 10, 5, 90, 10, 5, 10, 50, 5, 50, 30, 8)


@pytest.fixture
def converted(as_fabricator, django_capture_on_commit_callbacks):
    def upload(content, filename="plate.step", part=None):
        part = part or make_part()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(as_fabricator, part, content, filename)
        assert response.status_code == 201, response.json()
        return as_fabricator.get(f"/api/revisions/{response.json()['id']}/").json()

    return upload


def read_dxf(body, tmp_path):
    path = tmp_path / "plate.dxf"
    path.write_bytes(body)
    return ezdxf.readfile(path)


@pytest.mark.usefixtures("storage_backend")
def test_a_plate_with_round_holes_gives_a_dxf_of_its_outline_and_true_circles(converted, as_viewer, tmp_path):
    revision = converted(step_of("plate", *PLATE))

    status, headers, body = fetch(as_viewer, revision["dxf_url"])

    assert status == 200
    document = read_dxf(body, tmp_path)
    assert document.units == ezdxf.units.MM
    space = document.modelspace()
    outline = bbox.extents(space.query('*[layer=="OUTLINE"]'))
    assert (outline.size.x, outline.size.y) == (pytest.approx(100, abs=0.01), pytest.approx(60, abs=0.01))
    assert (outline.extmin.x, outline.extmin.y) == (pytest.approx(0, abs=0.01), pytest.approx(0, abs=0.01))
    circles = space.query("CIRCLE")
    assert sorted(2 * circle.dxf.radius for circle in circles) == pytest.approx([5, 5, 5, 8], abs=0.01)
    assert {circle.dxf.layer for circle in circles} == {"THROUGH_HOLES"}
    assert sorted((round(c.dxf.center.x, 2), round(c.dxf.center.y, 2)) for c in circles) == [
        (10, 10), (10, 50), (50, 30), (90, 10)
    ]


def test_a_rounded_corner_is_a_true_arc_in_the_dxf(converted, as_viewer, tmp_path):
    revision = converted(step_of("rounded_plate", 80, 40, 3, 10))

    _, _, body = fetch(as_viewer, revision["dxf_url"])

    space = read_dxf(body, tmp_path).modelspace()
    arcs = space.query("ARC")
    assert len(arcs) == 4
    assert all(arc.dxf.radius == pytest.approx(10, abs=0.01) for arc in arcs)
    outline = bbox.extents(space.query('*[layer=="OUTLINE"]'))
    assert (outline.size.x, outline.size.y) == (pytest.approx(80, abs=0.01), pytest.approx(40, abs=0.01))


def test_a_pocket_is_drawn_on_a_layer_of_its_own(converted, as_viewer, tmp_path):
    revision = converted(step_of("pocketed_plate", 100, 60, 10, 40, 20, 4))

    assert [hole["kind"] for hole in revision["geometry"]["plate"]["holes"]] == ["pockets_top"]
    _, _, body = fetch(as_viewer, revision["dxf_url"])
    pocket = bbox.extents(read_dxf(body, tmp_path).modelspace().query('*[layer=="POCKETS_TOP"]'))
    assert (pocket.size.x, pocket.size.y) == (pytest.approx(40, abs=0.01), pytest.approx(20, abs=0.01))


def test_a_cylinder_gives_no_dxf_and_says_why(converted, as_viewer):
    revision = converted(step_of("cylinder", 10, 40), "rod.step")

    assert revision["dxf_url"] is None
    assert revision["geometry"]["plate"] is None
    response = as_viewer.get(f"/api/revisions/{revision['id']}/dxf/")
    assert response.status_code == 409
    assert "not a plate" in response.json()["detail"]
    assert "thicker (40.00 mm) than it is wide" in response.json()["detail"]


def test_downloading_the_dxf_is_recorded_as_an_access(converted, as_viewer):
    revision = converted(step_of("plate", *PLATE))

    fetch(as_viewer, revision["dxf_url"])

    access = FileAccess.objects.get(access=Access.DXF)
    assert (access.revision_id, access.user.username) == (revision["id"], as_viewer.user.username)


@pytest.mark.parametrize("client, status", [("as_viewer", 200), ("as_fabricator", 200), ("as_lead", 200), ("anonymous", 401)])
def test_who_may_download_the_dxf(converted, request, client, status):
    revision = converted(step_of("plate", *PLATE))

    response = request.getfixturevalue(client).get(f"/api/revisions/{revision['id']}/dxf/")

    assert response.status_code in ((401, 403) if status == 401 else (status,))


def test_the_part_page_links_the_dxf(converted, viewer, client):
    part = make_part()
    revision = converted(step_of("plate", *PLATE), part=part)
    client.force_login(viewer)

    page = client.get(f"/parts/{part.pk}/").content.decode()

    assert f'href="/api/revisions/{revision["id"]}/dxf/"' in page


def test_the_zip_archive_holds_the_dxf_beside_the_approved_step(converted, as_lead):
    part = make_part(part_number="P-PLATE")
    revision = converted(step_of("plate", *PLATE), part=part)
    assert as_lead.post(f"/api/parts/{part.pk}/approve/").status_code == 200

    response = as_lead.get("/api/parts/archive/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    assert sorted(archive.namelist()) == ["MANIFEST.csv", "P-PLATE/R1 plate.dxf", "P-PLATE/R1 plate.step"]
    assert archive.read("P-PLATE/R1 plate.dxf").startswith(b"  0\r\nSECTION") or b"SECTION" in archive.read("P-PLATE/R1 plate.dxf")[:20]
    manifest = archive.read("MANIFEST.csv").decode()
    assert f"P-PLATE,Bracket,dxf,R1,P-PLATE/R1 plate.dxf" in manifest
    assert FileAccess.objects.get(access=Access.ARCHIVE).revisions.get().pk == revision["id"]
