"""Reading the triangles of a GLB, for its preview: where they are in the world, and broken files."""

import json
import struct

import numpy as np
import pytest

from files.glb import InvalidGlb, glb_mesh_facts, glb_triangles
from files.tests.samples import mesh_glb

SQUARE = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)]


def read(tmp_path, glb):
    path = tmp_path / "model.glb"
    path.write_bytes(glb)
    return glb_triangles(path)


def test_triangles_are_read_with_their_vertices(tmp_path):
    vertices, faces = read(tmp_path, mesh_glb(SQUARE, [0, 1, 2, 0, 2, 3]))

    assert faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert vertices.tolist() == [list(map(float, corner)) for corner in SQUARE]


def test_each_node_draws_the_mesh_where_its_transform_puts_it(tmp_path):
    nodes = [{}, {"translation": [10, 0, 0]}, {"scale": [2, 2, 2], "translation": [0, 0, 5]}]
    glb = mesh_glb(SQUARE, [0, 1, 2, 0, 2, 3], nodes=nodes)
    path = tmp_path / "model.glb"
    path.write_bytes(glb)

    vertices, faces = glb_triangles(path)

    assert len(faces) == glb_mesh_facts(path)[0] == 6
    assert vertices[faces].min(axis=(0, 1)).tolist() == [0, 0, 0]
    assert vertices[faces].max(axis=(0, 1)).tolist() == [11, 2, 5]


@pytest.mark.parametrize("mode,expected", [(5, [[0, 1, 2], [1, 2, 3]]), (6, [[0, 1, 2], [0, 2, 3]])])
def test_strips_and_fans_become_triangles(tmp_path, mode, expected):
    _, faces = read(tmp_path, mesh_glb(SQUARE, [0, 1, 2, 3], mode=mode))

    assert faces.tolist() == expected


def test_points_and_lines_are_no_triangles(tmp_path):
    vertices, faces = read(tmp_path, mesh_glb(SQUARE, [0, 1, 2, 3], mode=1))

    assert (vertices.shape, faces.shape) == ((0, 3), (0, 3))


def test_a_triangle_naming_a_missing_vertex_is_refused(tmp_path):
    with pytest.raises(InvalidGlb, match="refers to a vertex that is not there"):
        read(tmp_path, mesh_glb(SQUARE, [0, 1, 7]))


def test_an_accessor_past_the_end_of_the_data_is_refused(tmp_path):
    glb = bytearray(mesh_glb(SQUARE, [0, 1, 2]))
    json_length = struct.unpack_from("<I", glb, 12)[0]
    document = json.loads(glb[20:20 + json_length])
    document["accessors"][0]["count"] = 1000
    text = json.dumps(document, separators=(",", ":")).encode().ljust(json_length)  # compact: never longer
    assert len(text) == json_length, "the test needs the JSON to keep its length"
    glb[20:20 + json_length] = text

    with pytest.raises(InvalidGlb, match="past the end of the binary chunk"):
        read(tmp_path, bytes(glb))


def test_a_file_that_is_not_a_glb_is_refused(tmp_path):
    with pytest.raises(InvalidGlb, match="not a GLB file"):
        read(tmp_path, b"solid cube\nendsolid\n")


def test_vertices_come_back_as_float64_and_faces_as_int64(tmp_path):
    vertices, faces = read(tmp_path, mesh_glb(SQUARE, [0, 1, 2]))

    assert (vertices.dtype, faces.dtype) == (np.float64, np.int64)
