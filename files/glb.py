"""What a converted GLB holds: its triangle count and the size of its bounding box.

Only the JSON chunk is read. glTF requires min/max on every POSITION accessor, so the
box comes from those bounds carried through the node transforms, and the binary
vertex data is never touched. glTF lengths are metres; Partsite speaks millimetres.

`glb_triangles` reads the triangles themselves, for the preview (files.preview).
"""

import json
import math
import struct

GLB_MAGIC = b"glTF"
JSON_CHUNK_TYPE = 0x4E4F534A
BIN_CHUNK_TYPE = 0x004E4942
# glTF component types as numpy types (little-endian), and how many components each type has.
COMPONENT_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
COMPONENT_COUNTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
MM_PER_METRE = 1000.0

TRIANGLES, TRIANGLE_STRIP, TRIANGLE_FAN = 4, 5, 6

IDENTITY = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))

Matrix = tuple[tuple[float, ...], ...]


class InvalidGlb(ValueError):
    pass


def glb_mesh_facts(path) -> tuple[int, tuple[float, float, float] | None]:
    """Triangles drawn by the default scene, and its axis-aligned box size in mm (None if empty).

    A mesh used by two nodes is drawn, and counted, twice. Under a rotation that is not a
    multiple of 90 degrees the box is that of the rotated accessor bounds, so it can be a
    little larger than the tightest box.
    """
    document = read_glb_json(path)
    triangles = 0
    low, high = [math.inf] * 3, [-math.inf] * 3
    try:
        for mesh_index, world in _mesh_instances(document):
            for primitive in document["meshes"][mesh_index].get("primitives", []):
                count = _triangle_count(document, primitive)
                if not count:
                    continue
                triangles += count
                for corner in _bounds_corners(document, primitive):
                    point = _transform_point(world, corner)
                    for axis in range(3):
                        low[axis] = min(low[axis], point[axis])
                        high[axis] = max(high[axis], point[axis])
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise InvalidGlb(f"malformed glTF JSON: {error!r}") from error
    if not triangles or low[0] == math.inf:
        return triangles, None
    size = tuple(round((high[axis] - low[axis]) * MM_PER_METRE, 4) for axis in range(3))
    return triangles, size


def read_glb_json(path) -> dict:
    with open(path, "rb") as glb:
        header = glb.read(20)
        if len(header) < 20 or header[:4] != GLB_MAGIC:
            raise InvalidGlb("not a GLB file")
        chunk_length, chunk_type = struct.unpack_from("<II", header, 12)
        if chunk_type != JSON_CHUNK_TYPE:
            raise InvalidGlb("the first GLB chunk is not JSON")
        chunk = glb.read(chunk_length)
    try:
        document = json.loads(chunk)
    except ValueError as error:
        raise InvalidGlb(f"unreadable glTF JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidGlb("glTF JSON is not an object")
    return document


def glb_triangles(path):
    """(vertices, faces) of every triangle the default scene draws, in world coordinates.

    numpy arrays: vertices float64 of shape (n, 3), faces int64 of shape (m, 3) indexing them.
    Points and lines are left out. The whole file is read into memory.
    """
    import numpy as np

    with open(path, "rb") as glb:
        data = glb.read()
    document = read_glb_json(path)
    binary = _binary_chunk(data)
    vertices, faces, offset = [], [], 0
    try:
        for mesh_index, world in _mesh_instances(document):
            matrix = np.array(world, dtype=np.float64)
            for primitive in document["meshes"][mesh_index].get("primitives", []):
                positions = _accessor_array(document, binary, primitive["attributes"]["POSITION"])
                if "indices" in primitive:
                    indices = _accessor_array(document, binary, primitive["indices"]).ravel().astype(np.int64)
                else:
                    indices = np.arange(len(positions), dtype=np.int64)
                triangles = _triangles_of(primitive.get("mode", TRIANGLES), indices)
                if not len(triangles):
                    continue
                if triangles.max() >= len(positions):
                    raise InvalidGlb("a triangle refers to a vertex that is not there")
                vertices.append(positions.astype(np.float64) @ matrix[:3, :3].T + matrix[:3, 3])
                faces.append(triangles + offset)
                offset += len(positions)
    except InvalidGlb:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise InvalidGlb(f"malformed glTF: {error!r}") from error
    if not faces:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.concatenate(vertices), np.concatenate(faces)


def _binary_chunk(data: bytes) -> memoryview:
    json_length = struct.unpack_from("<I", data, 12)[0]
    position = 20 + json_length
    if len(data) < position + 8:
        return memoryview(b"")
    length, chunk_type = struct.unpack_from("<II", data, position)
    if chunk_type != BIN_CHUNK_TYPE:
        raise InvalidGlb("the second GLB chunk is not binary")
    return memoryview(data)[position + 8 : position + 8 + length]


def _accessor_array(document, binary, index):
    """An accessor's values as a (count, components) numpy array viewing the binary chunk."""
    import numpy as np

    accessor = document["accessors"][index]
    if "sparse" in accessor:
        raise InvalidGlb("sparse accessors are not supported")
    dtype = np.dtype(COMPONENT_DTYPES[accessor["componentType"]])
    count, width = int(accessor["count"]), COMPONENT_COUNTS[accessor["type"]]
    if "bufferView" not in accessor:  # all zeros, by the specification
        return np.zeros((count, width), dtype)
    view = document["bufferViews"][accessor["bufferView"]]
    if view.get("buffer", 0) != 0:
        raise InvalidGlb("the model refers to a buffer outside the file")
    start = int(view.get("byteOffset", 0)) + int(accessor.get("byteOffset", 0))
    item = dtype.itemsize * width
    stride = int(view.get("byteStride") or item)
    if count and start + stride * (count - 1) + item > len(binary):
        raise InvalidGlb("an accessor reaches past the end of the binary chunk")
    return np.ndarray((count, width), dtype, buffer=binary, offset=start, strides=(stride, dtype.itemsize))


def _triangles_of(mode, indices):
    """Triangles, as rows of three vertex indices, from a primitive's indices and mode."""
    import numpy as np

    if mode == TRIANGLES:
        return indices[: len(indices) // 3 * 3].reshape(-1, 3)
    steps = np.arange(max(len(indices) - 2, 0))
    if mode == TRIANGLE_STRIP:
        return np.stack([indices[steps], indices[steps + 1], indices[steps + 2]], axis=1)
    if mode == TRIANGLE_FAN:
        return np.stack([np.full(len(steps), indices[0]), indices[steps + 1], indices[steps + 2]], axis=1)
    return np.zeros((0, 3), dtype=np.int64)


def _mesh_instances(document):
    """Yield (mesh index, world matrix) for every node of the default scene that has a mesh."""
    nodes = document.get("nodes", [])
    scenes = document.get("scenes", [])
    if scenes:
        roots = scenes[document.get("scene", 0)].get("nodes", [])
    else:
        children = {child for node in nodes for child in node.get("children", [])}
        roots = [index for index in range(len(nodes)) if index not in children]
    visited = set()
    stack = [(index, IDENTITY) for index in roots]
    while stack:
        index, parent = stack.pop()
        if index in visited:  # a node has one parent; a loop means a broken file
            continue
        visited.add(index)
        node = nodes[index]
        world = _multiply(parent, _local_matrix(node))
        if "mesh" in node:
            yield node["mesh"], world
        stack.extend((child, world) for child in node.get("children", []))


def _triangle_count(document, primitive) -> int:
    mode = primitive.get("mode", TRIANGLES)
    if "indices" in primitive:
        count = document["accessors"][primitive["indices"]]["count"]
    else:
        count = document["accessors"][primitive["attributes"]["POSITION"]]["count"]
    if mode == TRIANGLES:
        return count // 3
    if mode in (TRIANGLE_STRIP, TRIANGLE_FAN):
        return max(count - 2, 0)
    return 0


def _bounds_corners(document, primitive):
    accessor = document["accessors"][primitive["attributes"]["POSITION"]]
    low, high = accessor["min"], accessor["max"]
    return [
        (x, y, z)
        for x in (low[0], high[0])
        for y in (low[1], high[1])
        for z in (low[2], high[2])
    ]


def _local_matrix(node) -> Matrix:
    if "matrix" in node:
        m = node["matrix"]  # glTF stores it column by column
        return tuple(tuple(float(m[column * 4 + row]) for column in range(4)) for row in range(4))
    tx, ty, tz = node.get("translation", (0.0, 0.0, 0.0))
    qx, qy, qz, qw = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    sx, sy, sz = node.get("scale", (1.0, 1.0, 1.0))
    rotation = (
        (1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)),
        (2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)),
        (2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)),
    )
    return (
        (rotation[0][0] * sx, rotation[0][1] * sy, rotation[0][2] * sz, tx),
        (rotation[1][0] * sx, rotation[1][1] * sy, rotation[1][2] * sz, ty),
        (rotation[2][0] * sx, rotation[2][1] * sy, rotation[2][2] * sz, tz),
        (0.0, 0.0, 0.0, 1.0),
    )


def _multiply(a: Matrix, b: Matrix) -> Matrix:
    return tuple(
        tuple(sum(a[row][k] * b[k][column] for k in range(4)) for column in range(4))
        for row in range(4)
    )


def _transform_point(m: Matrix, point) -> tuple[float, float, float]:
    x, y, z = point
    return tuple(m[row][0] * x + m[row][1] * y + m[row][2] * z + m[row][3] for row in range(3))
