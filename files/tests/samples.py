"""STEP and PDF files written by the tests themselves, so they run without the shared corpus."""


def step_header(schema="AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }", system="Partsite test generator", name="Box"):
    return (
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('Partsite test block'),'2;1');\n"
        f"FILE_NAME('{name}.step','2026-11-22T10:00:00',('Test Author'),('Partsite'),'Partsite tests',"
        f"'{system}','');\nFILE_SCHEMA(('{schema}'));\nENDSEC;\n"
    )


def box_step(x=40, y=20, z=5, name="Box", unit="MILLI", padding=0, solid=True):
    """A STEP AP214 file holding one block of x by y by z (in the unit), which converts to 12 triangles.

    `padding` adds that many bytes of comment, for tests that need a big file. Without
    `solid` the shape holds only a placement, like an analysis model: no triangles.
    """
    lines, ids = [], iter(range(1, 10_000))

    def add(text):
        n = next(ids)
        lines.append(f"#{n}={text};")
        return f"#{n}"

    corners = {(i, j, k): add(f"CARTESIAN_POINT('',({i * x:.6f},{j * y:.6f},{k * z:.6f}))")
               for i in (0, 1) for j in (0, 1) for k in (0, 1)}
    vertices = {key: add(f"VERTEX_POINT('',{point})") for key, point in corners.items()}
    edges = {}

    def edge(a, b):
        if (b, a) in edges:
            return edges[(b, a)], ".F."
        if (a, b) not in edges:
            pa = [c * s for c, s in zip(a, (x, y, z))]
            pb = [c * s for c, s in zip(b, (x, y, z))]
            d = [q - p for p, q in zip(pa, pb)]
            length = max(abs(v) for v in d)
            direction = add("DIRECTION('',({:.1f},{:.1f},{:.1f}))".format(*[v / length for v in d]))
            vector = add(f"VECTOR('',{direction},{length:.6f})")
            line = add(f"LINE('',{corners[a]},{vector})")
            edges[(a, b)] = add(f"EDGE_CURVE('',{vertices[a]},{vertices[b]},{line},.T.)")
        return edges[(a, b)], ".T."

    # Each face: its corners counter-clockwise seen from outside, and its outward normal.
    faces_spec = [
        ([(0, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 0)], (0, 0, -1)),
        ([(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)], (0, 0, 1)),
        ([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], (0, -1, 0)),
        ([(0, 1, 0), (0, 1, 1), (1, 1, 1), (1, 1, 0)], (0, 1, 0)),
        ([(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0)], (-1, 0, 0)),
        ([(1, 0, 0), (1, 1, 0), (1, 1, 1), (1, 0, 1)], (1, 0, 0)),
    ]
    faces = []
    for loop, normal in faces_spec:
        oriented = []
        for a, b in zip(loop, loop[1:] + loop[:1]):
            curve, sense = edge(a, b)
            oriented.append(add(f"ORIENTED_EDGE('',*,*,{curve},{sense})"))
        edge_loop = add(f"EDGE_LOOP('',({','.join(oriented)}))")
        bound = add(f"FACE_OUTER_BOUND('',{edge_loop},.T.)")
        axis = add("DIRECTION('',({:.1f},{:.1f},{:.1f}))".format(*normal))
        ref = add("DIRECTION('',({:.1f},{:.1f},{:.1f}))".format(*([1, 0, 0] if normal[0] == 0 else [0, 1, 0])))
        placement = add(f"AXIS2_PLACEMENT_3D('',{corners[loop[0]]},{axis},{ref})")
        plane = add(f"PLANE('',{placement})")
        faces.append(add(f"ADVANCED_FACE('',({bound}),{plane},.T.)"))
    shell = add(f"CLOSED_SHELL('',({','.join(faces)}))")
    brep = add(f"MANIFOLD_SOLID_BREP('{name}',{shell})")
    origin = add("CARTESIAN_POINT('',(0.,0.,0.))")
    up, across = add("DIRECTION('',(0.,0.,1.))"), add("DIRECTION('',(1.,0.,0.))")
    world = add(f"AXIS2_PLACEMENT_3D('',{origin},{up},{across})")
    length_unit = add(f"(LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT(.{unit}.,.METRE.))" if unit else "(LENGTH_UNIT() NAMED_UNIT(*) SI_UNIT($,.METRE.))")
    angle_unit = add("(NAMED_UNIT(*) PLANE_ANGLE_UNIT() SI_UNIT($,.RADIAN.))")
    solid_angle = add("(NAMED_UNIT(*) SI_UNIT($,.STERADIAN.) SOLID_ANGLE_UNIT())")
    uncertainty = add(f"UNCERTAINTY_MEASURE_WITH_UNIT(LENGTH_MEASURE(1.E-07),{length_unit},'distance_accuracy_value','')")
    context = add(
        f"(GEOMETRIC_REPRESENTATION_CONTEXT(3) GLOBAL_UNCERTAINTY_ASSIGNED_CONTEXT(({uncertainty})) "
        f"GLOBAL_UNIT_ASSIGNED_CONTEXT(({length_unit},{angle_unit},{solid_angle})) REPRESENTATION_CONTEXT('',''))"
    )
    items = f"{world},{brep}" if solid else world
    shape = add(f"ADVANCED_BREP_SHAPE_REPRESENTATION('',({items}),{context})")
    app = add("APPLICATION_CONTEXT('automotive design')")
    product_context = add(f"PRODUCT_CONTEXT('',{app},'mechanical')")
    product = add(f"PRODUCT('{name}','{name}','',({product_context}))")
    formation = add(f"PRODUCT_DEFINITION_FORMATION('','',{product})")
    definition_context = add(f"PRODUCT_DEFINITION_CONTEXT('part definition',{app},'design')")
    definition = add(f"PRODUCT_DEFINITION('design','',{formation},{definition_context})")
    definition_shape = add(f"PRODUCT_DEFINITION_SHAPE('','',{definition})")
    add(f"SHAPE_DEFINITION_REPRESENTATION({definition_shape},{shape})")
    comment = "/* padding " + "-" * 66 + " */\n"
    filler = comment * (padding // len(comment) + 1) if padding else ""
    data = "DATA;\n" + "\n".join(lines) + "\n" + filler + "ENDSEC;\nEND-ISO-10303-21;\n"
    return (step_header(name=name) + data).encode()


def pdf_bytes(size=2000):
    """A file that passes as a PDF drawing: %PDF- and then `size` bytes in all."""
    body = b"%PDF-1.7\n" + b"%" + bytes(range(128, 256)) + b"\n"
    return (body * (size // len(body) + 1))[:size]


def mesh_glb(vertices, indices, mode=4, nodes=None):
    """A GLB holding one mesh primitive (mode 4: triangles) drawn by each of `nodes` (default: one, in place).

    `vertices` are (x, y, z) rows, `indices` a flat sequence of vertex numbers; each node is a
    glTF node dictionary without its "mesh", e.g. {"translation": [1, 0, 0]}.
    """
    import json
    import struct

    import numpy as np

    vertices = np.asarray(vertices, dtype="<f4").reshape(-1, 3)
    positions, index_bytes = vertices.tobytes(), np.asarray(indices, dtype="<u4").tobytes()
    binary = positions + index_bytes
    document = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(nodes or [{}])))}],
        "nodes": [{**node, "mesh": 0} for node in nodes or [{}]],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "mode": mode}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions)},
            {"buffer": 0, "byteOffset": len(positions), "byteLength": len(index_bytes)},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(vertices), "type": "VEC3",
             "min": vertices.min(axis=0).tolist(), "max": vertices.max(axis=0).tolist()},
            {"bufferView": 1, "componentType": 5125, "count": len(index_bytes) // 4, "type": "SCALAR"},
        ],
    }
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks
