"""Drawing a PNG preview of a GLB in a child process: what the image shows, and the limits it runs under."""

import faulthandler
import os
import signal

import numpy as np
import pytest
from PIL import Image

from files.converter import convert_step_to_glb
from files.preview import HEIGHT_PX, NOTHING_TO_DRAW, WIDTH_PX, cluster_vertices, render_preview
from files.tests.samples import box_step, mesh_glb

BACKGROUND_RGB = (246, 246, 244)


@pytest.fixture
def box_glb(tmp_path):
    """A 40 x 20 x 5 mm block, converted the way the worker converts it."""

    def convert(*size, unit="MILLI"):
        step_path, glb_path = tmp_path / "box.step", tmp_path / f"box-{len(os.listdir(tmp_path))}.glb"
        step_path.write_bytes(box_step(*size, unit=unit))
        result = convert_step_to_glb(str(step_path), str(glb_path))
        assert result.ok, result.error
        return glb_path

    return convert


def render(glb_path, tmp_path, **limits):
    png_path = tmp_path / "preview.png"
    before = set(os.listdir(tmp_path))
    result = render_preview(str(glb_path), str(png_path), **limits)
    leftovers = set(os.listdir(tmp_path)) - before - {"preview.png"}
    assert not leftovers, "a partial PNG was left behind"
    assert png_path.exists() == result.ok
    return result, png_path


def pixels(png_path):
    with Image.open(png_path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_a_block_is_drawn_as_a_shaded_part_on_a_light_background(box_glb, tmp_path):
    result, png_path = render(box_glb(40, 20, 5), tmp_path)

    assert result.ok, result.error
    image = pixels(png_path)
    assert image.shape == (HEIGHT_PX, WIDTH_PX, 3)
    assert tuple(image[0, 0]) == tuple(image[-1, -1]) == BACKGROUND_RGB
    part = np.any(image != BACKGROUND_RGB, axis=-1)
    assert 0.1 < part.mean() < 0.9, "the part fills the picture, with a margin"
    shades = {tuple(colour) for colour in image[part]}
    blue = image[part].astype(int)
    assert np.mean(blue[:, 2] > blue[:, 0]) > 0.95, "the part is blue"
    # The top and two sides of the block, each lit differently (and the smoothed edges between them).
    assert len(shades) >= 3
    assert result.seconds > 0 and result.peak_rss_mb > 20


def test_the_view_fits_the_model_whatever_its_size(box_glb, tmp_path):
    in_millimetres = pixels(render(box_glb(40, 20, 5), tmp_path)[1])
    in_metres = pixels(render(box_glb(0.04, 0.02, 0.005, unit=None), tmp_path)[1])
    bigger = pixels(render(box_glb(400, 200, 50), tmp_path)[1])

    assert np.array_equal(in_millimetres, in_metres)
    assert np.array_equal(in_millimetres, bigger)


def sphere(rings, segments):
    """A UV sphere of radius 1: (vertices, triangle indices), 2 * rings * segments triangles."""
    theta = np.linspace(0, np.pi, rings + 1)[:, None]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)[None, :]
    vertices = np.stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) + 0 * phi], axis=-1
    ).reshape(-1, 3)
    ring, segment = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a = ring * segments + segment
    b = ring * segments + (segment + 1) % segments
    c, d = a + segments, b + segments
    return vertices, np.stack([a, c, b, b, c, d], axis=-1).ravel()


def test_a_mesh_far_finer_than_the_picture_is_simplified_and_still_drawn_whole(tmp_path):
    glb_path = tmp_path / "sphere.glb"
    glb_path.write_bytes(mesh_glb(*sphere(400, 400)))  # 320,000 triangles

    result, png_path = render(glb_path, tmp_path)

    assert result.ok, result.error
    part = np.any(pixels(png_path) != BACKGROUND_RGB, axis=-1)
    rows, columns = np.nonzero(part)
    middle_row = part[(rows.min() + rows.max()) // 2, columns.min():columns.max() + 1]
    assert middle_row.all(), "no holes across the middle of the sphere"


def test_clustering_merges_vertices_closer_than_a_cell_and_drops_collapsed_triangles():
    vertices, indices = sphere(100, 100)
    faces = indices.reshape(-1, 3)

    clustered, kept = cluster_vertices(vertices, faces, cell=0.2)

    assert len(kept) < len(faces) / 10
    assert len(clustered) < len(vertices) / 10
    assert clustered.min(axis=0) == pytest.approx((-1,) * 3, abs=0.2)
    assert clustered.max(axis=0) == pytest.approx((1,) * 3, abs=0.2)
    assert np.all((kept[:, 0] != kept[:, 1]) & (kept[:, 1] != kept[:, 2]) & (kept[:, 0] != kept[:, 2]))


def test_a_renderer_that_takes_too_long_is_stopped(box_glb, tmp_path):
    result, _ = render(box_glb(40, 20, 5), tmp_path, timeout_s=0.01)

    assert (result.ok, result.error) == (False, "drawing it timed out after 0.01 s")


def test_a_renderer_that_needs_too_much_memory_is_stopped(box_glb, tmp_path):
    result, _ = render(box_glb(40, 20, 5), tmp_path, memory_mb=64)

    assert (result.ok, result.error) == (False, "drawing it ran out of memory (limit 64 MB)")


def test_a_file_that_is_not_a_glb_says_it_could_not_be_read(tmp_path):
    glb_path = tmp_path / "model.glb"
    glb_path.write_bytes(b"not a model at all")

    result, _ = render(glb_path, tmp_path)

    assert not result.ok
    assert result.error == "the 3D model could not be read: not a GLB file"


def test_a_model_of_points_only_has_nothing_to_draw(tmp_path):
    glb_path = tmp_path / "points.glb"
    glb_path.write_bytes(mesh_glb([(0, 0, 0), (1, 1, 1), (1, 0, 0)], [0, 1, 2], mode=0))

    result, _ = render(glb_path, tmp_path)

    assert (result.ok, result.error) == (False, NOTHING_TO_DRAW)


class _DiesInNativeCodeAtOnce:
    """A renderer whose first allocation under the cap kills it in native code, before Python could tell."""

    @staticmethod
    def main(argv):
        faulthandler.disable()  # pytest's, inherited by the fork: its dump would only be noise
        os.abort()


def test_a_renderer_that_dies_before_the_server_looks_at_it_still_ran_out_of_memory(monkeypatch):
    # The fork server samples a child's address space while it runs. On a loaded machine it
    # may not get to look before a child that cannot even start under its cap is gone.
    from files import forkserver
    from files.preview import _failure_reason

    monkeypatch.setattr(forkserver, "_vm_mb", lambda pid, field: 0.0 if pid != "self" else forkserver_vm(field))
    outcome = forkserver._fork_and_wait(_DiesInNativeCodeAtOnce, [], 30, ())

    assert outcome.exit_code == -signal.SIGABRT
    assert _failure_reason(outcome, 30, 64) == "drawing it ran out of memory (limit 64 MB)"


def forkserver_vm(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith(f"{field}:"))
