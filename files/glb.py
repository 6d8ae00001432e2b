"""What a converted GLB holds: its triangle count and the size of its bounding box.

Only the JSON chunk is read. glTF requires min/max on every POSITION accessor, so the
box comes from those bounds carried through the node transforms, and the binary
vertex data is never touched. glTF lengths are metres; Partsite speaks millimetres.
"""

import json
import math
import struct

GLB_MAGIC = b"glTF"
JSON_CHUNK_TYPE = 0x4E4F534A
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
