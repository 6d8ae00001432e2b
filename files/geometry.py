"""Geometry facts of a STEP revision, measured on its B-rep, in a disposable child process.

Beside the conversion (files.converter), not inside it: the facts come from Open CASCADE's
own B-rep through OCP (cadquery-ocp-novtk), which bundles an Open CASCADE of its own that
must not share a process with cascadio's. The child is forked from a warm server
(files.forkserver) under the same address-space, CPU and wall-clock limits as a conversion,
so a file that crashes or runs away here costs only the facts, never the worker.

The child reads the STEP once (Open CASCADE honours the file's length unit: lengths come
back in millimetres), and writes a JSON file of facts:

- `bbox_mm` (size x, y, z), `bbox_min_mm`, `volume_mm3`, `area_mm2`, `centre_of_mass_mm`,
  `solids`, `data_sha256` (the STEP's DATA section, so two files that differ only in their
  header are known to carry the same model);
- `plate`: for one solid between two parallel planar faces that cover its outline, its
  `thickness_mm`, `outline_mm` and `holes` (through-holes and pockets); else null, and
  `not_plate` says why;

and, for a plate, a DXF of its outline, holes and pockets (true lines, arcs and circles, in
mm) beside the JSON (`<output>.dxf`). This is the only module that imports OCP and ezdxf.
"""

import contextlib
import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field

from files.forkserver import ChildOutcome, child_arguments, run_child

DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_MB = 2048
EXIT_OK, EXIT_UNREADABLE, EXIT_OUT_OF_MEMORY = 0, 3, 4
OUT_OF_MEMORY_SHARE = 0.9

# Two faces are parallel, or a wall square to the plate, within this (radians): CAD exports
# carry rounding in their directions, not real drafts.
ANGLE_TOLERANCE = 1e-6
# Lengths that are "the same" when matching planes and outlines (mm).
LENGTH_TOLERANCE_MM = 1e-3
# Curves the DXF cannot carry as lines, arcs or circles become polylines this close to them (mm).
POLYLINE_DEFLECTION_MM = 0.01
DATA_SECTION = re.compile(rb"\bDATA\s*;(.*)\bENDSEC\s*;", re.S)
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class GeometryResult:
    ok: bool
    error: str = ""
    facts: dict = field(default_factory=dict)
    dxf_path: str = ""
    seconds: float = 0.0
    peak_rss_mb: float | None = None


def measure_step(
    step_path: str, facts_path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB,
) -> GeometryResult:
    """Measure a STEP file in a child; the DXF, for a plate, is left at `facts_path + ".dxf"`."""
    dxf_path = dxf_path_for(facts_path)
    for stale in (facts_path, dxf_path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    child = run_child("files.geometry", os.path.abspath(step_path), os.path.abspath(facts_path), timeout_s, memory_mb)
    result = GeometryResult(ok=False, seconds=child.seconds, peak_rss_mb=child.peak_rss_mb)
    result.error = _failure_reason(child, timeout_s, memory_mb)
    if result.error:
        return result
    try:
        with open(facts_path, encoding="utf-8") as facts_file:
            result.facts = json.load(facts_file)
    except (OSError, ValueError) as error:
        result.error = f"the measuring child wrote no readable facts ({error})"
        return result
    result.ok = True
    result.dxf_path = dxf_path if os.path.exists(dxf_path) else ""
    return result


def dxf_path_for(facts_path: str) -> str:
    return f"{facts_path}.dxf"


def _failure_reason(child: ChildOutcome, timeout_s: float, memory_mb: int) -> str:
    if child.timed_out:
        return f"measuring timed out after {timeout_s:g} s"
    if child.exit_code == EXIT_OK:
        return ""
    if child.exit_code == EXIT_OUT_OF_MEMORY or child.peak_vm_mb >= OUT_OF_MEMORY_SHARE * memory_mb:
        return f"measuring ran out of memory (limit {memory_mb} MB)"
    if child.exit_code == EXIT_UNREADABLE:
        return f"Open CASCADE could not read the model: {child.last_output_line}"
    if child.exit_code < 0:
        return f"measuring crashed (signal {-child.exit_code})"
    return f"measuring failed (exit code {child.exit_code}): {child.last_output_line}"


def data_sha256(step: bytes) -> str:
    """SHA-256 of the DATA section, whitespace collapsed: equal for files that differ only in their header."""
    match = DATA_SECTION.search(step)
    body = match[1] if match else step
    return hashlib.sha256(re.sub(rb"\s+", b" ", body).strip()).hexdigest()


# The child side.


def preload():
    """What the fork server imports before forking: OCP's libraries are most of a child's start."""
    import ezdxf  # noqa: F401
    from OCP import BRepAdaptor, BRepBndLib, BRepGProp, GCPnts, STEPControl, TopExp  # noqa: F401


def main(argv=None) -> int:
    args = child_arguments(
        argv, prog="python -m files.geometry",
        description="Measure one STEP file's B-rep; the child side of measure_step.",
        input_name="step_path", output_name="facts_path", default_memory_mb=DEFAULT_MEMORY_MB,
    )
    try:
        with open(args.step_path, "rb") as step_file:
            step = step_file.read()
        shape = read_step(args.step_path)
        if shape is None:
            print("no shape in the file", file=sys.stderr)
            return EXIT_UNREADABLE
        facts = shape_facts(shape)
        facts["data_sha256"] = data_sha256(step.removeprefix(UTF8_BOM))
        plate, reason = plate_of(shape)
        facts["plate"], facts["not_plate"] = (plate.summary() if plate else None), reason
        if plate:
            write_dxf(plate, dxf_path_for(args.facts_path))
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    with open(args.facts_path, "w", encoding="utf-8") as facts_file:
        json.dump(facts, facts_file)
    return EXIT_OK


def read_step(path):
    from OCP.IFSelect import IFSelect_RetDone
    from OCP.STEPControl import STEPControl_Reader

    reader = STEPControl_Reader()
    if reader.ReadFile(path) != IFSelect_RetDone:
        return None
    reader.TransferRoots()
    shape = reader.OneShape()
    return None if shape is None or shape.IsNull() else shape


def _solids(shape):
    from OCP.TopAbs import TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    explorer, found = TopExp_Explorer(shape, TopAbs_SOLID), []
    while explorer.More():
        found.append(TopoDS.Solid(explorer.Current()))
        explorer.Next()
    return found


def _faces(shape):
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    explorer, found = TopExp_Explorer(shape, TopAbs_FACE), []
    while explorer.More():
        found.append(TopoDS.Face(explorer.Current()))
        explorer.Next()
    return found


def bounding_box(shape):
    """The tight box of the B-rep itself (not of its mesh, nor padded by tolerances): (min, max)."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib

    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(shape, box, False, False)
    if box.IsVoid():
        return None
    low, high = box.CornerMin(), box.CornerMax()
    return (low.X(), low.Y(), low.Z()), (high.X(), high.Y(), high.Z())


def shape_facts(shape) -> dict:
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps

    solids = _solids(shape)
    box = bounding_box(shape)
    surface = GProp_GProps()
    BRepGProp.SurfaceProperties_s(shape, surface)
    volume, moment = 0.0, [0.0, 0.0, 0.0]
    for solid in solids:
        props = GProp_GProps()
        BRepGProp.VolumeProperties_s(solid, props)
        # A solid stored inside out reads as negative volume; it is still that much material.
        mass, centre = abs(props.Mass()), props.CentreOfMass()
        volume += mass
        for axis, value in enumerate((centre.X(), centre.Y(), centre.Z())):
            moment[axis] += mass * value
    return {
        "bbox_mm": [round(high - low, 6) for low, high in zip(*box)] if box else None,
        "bbox_min_mm": [round(value, 6) for value in box[0]] if box else None,
        "volume_mm3": volume if solids else None,
        "area_mm2": surface.Mass(),
        "centre_of_mass_mm": [value / volume for value in moment] if solids and volume > 0 else None,
        "solids": len(solids),
    }


# Plates.


@dataclass
class Plate:
    thickness_mm: float
    normal: tuple
    x_axis: tuple
    y_axis: tuple
    top_face: object
    bottom_face: object
    outline_mm: tuple = (0.0, 0.0)
    holes: list = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "thickness_mm": round(self.thickness_mm, 6),
            "normal": [round(value, 9) for value in self.normal],
            "outline_mm": [round(value, 6) for value in self.outline_mm],
            "holes": self.holes,
        }


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _xyz(vector):
    return (vector.X(), vector.Y(), vector.Z())


def _plane_of(face):
    """(normal pointing out of the solid, offset along it), or None for a face that is not planar."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.GeomAbs import GeomAbs_Plane
    from OCP.TopAbs import TopAbs_REVERSED

    surface = BRepAdaptor_Surface(face)
    if surface.GetType() != GeomAbs_Plane:
        return None
    plane = surface.Plane()
    normal = _xyz(plane.Axis().Direction())
    if face.Orientation() == TopAbs_REVERSED:
        normal = tuple(-value for value in normal)
    return normal, _dot(normal, _xyz(plane.Location()))


def _is_wall(face, normal):
    """Whether a face stands square to the plate: a router cutting along `normal` can make it."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.GeomAbs import GeomAbs_Cylinder, GeomAbs_Plane, GeomAbs_SurfaceOfExtrusion

    surface = BRepAdaptor_Surface(face)
    kind = surface.GetType()
    if kind == GeomAbs_Plane:
        return abs(_dot(_xyz(surface.Plane().Axis().Direction()), normal)) < ANGLE_TOLERANCE
    if kind == GeomAbs_Cylinder:
        return 1 - abs(_dot(_xyz(surface.Cylinder().Axis().Direction()), normal)) < ANGLE_TOLERANCE
    if kind == GeomAbs_SurfaceOfExtrusion:
        return 1 - abs(_dot(_xyz(surface.Direction()), normal)) < ANGLE_TOLERANCE
    return False


def _frame(normal):
    """Two axes square to the normal: the model's x (or y) projected onto the plate."""
    for guess in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)):
        along = _dot(guess, normal)
        x = tuple(g - along * n for g, n in zip(guess, normal))
        length = math.sqrt(_dot(x, x))
        if length > 0.5:
            x = tuple(value / length for value in x)
            y = (normal[1] * x[2] - normal[2] * x[1], normal[2] * x[0] - normal[0] * x[2], normal[0] * x[1] - normal[1] * x[0])
            return x, y
    raise ValueError("no frame for a zero normal")


def plate_of(shape):
    """(Plate, "") when the shape is one solid between two parallel planar faces covering its
    outline, every other face square to them; else (None, why not)."""
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps

    solids = _solids(shape)
    if len(solids) != 1:
        return None, f"it has {len(solids)} solids; a plate is one"
    solid = solids[0]
    faces = _faces(solid)
    planes = []
    for face in faces:
        plane = _plane_of(face)
        if plane:
            props = GProp_GProps()
            BRepGProp.SurfaceProperties_s(face, props)
            planes.append((props.Mass(), face, *plane))
    if not planes:
        return None, "it has no flat face"
    _, _, normal, _ = max(planes, key=lambda item: item[0])
    up = [(area, face, offset) for area, face, n, offset in planes if _dot(n, normal) > 1 - ANGLE_TOLERANCE]
    down = [(area, face, -offset) for area, face, n, offset in planes if _dot(n, normal) < -1 + ANGLE_TOLERANCE]
    others = [face for face in faces if not any(face.IsSame(item[1]) for item in up + down)]
    slanted = sum(1 for face in others if not _is_wall(face, normal))
    if slanted:
        return None, (
            f"{slanted} face{'s are' if slanted > 1 else ' is'} neither flat nor square to its largest flat face "
            "(a chamfer, a rounded edge, a slope or a curved surface): not a part cut from a plate"
        )
    if not down:
        return None, "no flat face lies opposite its largest flat face"
    top_offset, bottom_offset = max(o for _, _, o in up), min(o for _, _, o in down)
    top = max((item for item in up if abs(item[2] - top_offset) < LENGTH_TOLERANCE_MM), key=lambda item: item[0])[1]
    bottom = max((item for item in down if abs(item[2] - bottom_offset) < LENGTH_TOLERANCE_MM), key=lambda item: item[0])[1]
    thickness = top_offset - bottom_offset
    if _inner_wires(bottom) > _inner_wires(top):  # draw it from the side its pockets open to
        top, bottom, normal = bottom, top, tuple(-value for value in normal)
    x_axis, y_axis = _frame(normal)
    plate = Plate(thickness, normal, x_axis, y_axis, top, bottom)
    outline = _outline_size(plate, solid)
    top_outline = _outline_size(plate, top, outer_only=True)
    bottom_outline = _outline_size(plate, bottom, outer_only=True)
    covered = [
        all(abs(a - b) < LENGTH_TOLERANCE_MM * 10 for a, b in zip(face_outline, outline))
        for face_outline in (top_outline, bottom_outline)
    ]
    if not any(covered):
        return None, "neither of its two largest parallel flat faces covers its outline (a step or a boss stands out)"
    if thickness >= min(outline):
        return None, (
            f"it is thicker ({thickness:.2f} mm) than it is wide ({min(outline):.2f} mm): "
            "a block or a rod, not a plate"
        )
    plate.outline_mm = outline
    plate.holes = [profile.summary() for profile in _profiles(plate) if profile.layer != OUTLINE]
    return plate, ""


def _inner_wires(face):
    from OCP.TopAbs import TopAbs_WIRE
    from OCP.TopExp import TopExp_Explorer

    count, explorer = -1, TopExp_Explorer(face, TopAbs_WIRE)
    while explorer.More():
        count += 1
        explorer.Next()
    return count


def _outline_size(plate, shape, outer_only=False):
    """The (width, height) of a shape's extent in the plate's frame."""
    points = [point for profile in _wires_2d(plate, shape, outer_only) for point in profile]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (max(xs) - min(xs), max(ys) - min(ys)) if points else (0.0, 0.0)


def _wires_2d(plate, shape, outer_only=False):
    """Each wire's edges sampled in 2D: enough to know extents (arcs bulge past their ends)."""
    from OCP.BRepTools import BRepTools
    from OCP.TopAbs import TopAbs_EDGE, TopAbs_FACE, TopAbs_WIRE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    wires = []
    if outer_only and shape.ShapeType() == TopAbs_FACE:
        wires = [BRepTools.OuterWire_s(TopoDS.Face(shape))]
    else:
        explorer = TopExp_Explorer(shape, TopAbs_WIRE)
        while explorer.More():
            wires.append(explorer.Current())
            explorer.Next()
    sampled = []
    for wire in wires:
        points = []
        edges = TopExp_Explorer(wire, TopAbs_EDGE)
        while edges.More():
            points.extend(_edge_points(plate, TopoDS.Edge(edges.Current())))
            edges.Next()
        sampled.append(points)
    return sampled


def _edge_points(plate, edge):
    from OCP.BRepAdaptor import BRepAdaptor_Curve
    from OCP.GCPnts import GCPnts_QuasiUniformDeflection

    curve = BRepAdaptor_Curve(edge)
    sampler = GCPnts_QuasiUniformDeflection(curve, POLYLINE_DEFLECTION_MM)
    if not sampler.IsDone():
        return [_to_2d(plate, curve.Value(curve.FirstParameter())), _to_2d(plate, curve.Value(curve.LastParameter()))]
    return [_to_2d(plate, sampler.Value(index)) for index in range(1, sampler.NbPoints() + 1)]


def _to_2d(plate, point):
    xyz = _xyz(point)
    return (_dot(xyz, plate.x_axis), _dot(xyz, plate.y_axis))


# The DXF.

OUTLINE, THROUGH, POCKET_TOP, POCKET_BOTTOM = "OUTLINE", "THROUGH_HOLES", "POCKETS_TOP", "POCKETS_BOTTOM"


@dataclass
class Profile:
    """A closed loop at the plate's face: the outline, a through-hole or a pocket, as 2D entities."""

    layer: str
    entities: list  # ("line", p, q) | ("circle", centre, r) | ("arc", centre, r, start°, end°) | ("polyline", points)
    extent: tuple  # (min x, min y, max x, max y)

    def summary(self):
        circles = [entity for entity in self.entities if entity[0] == "circle"]
        if len(self.entities) == 1 and circles:
            return {"kind": self.layer.lower(), "shape": "circle", "diameter_mm": round(2 * circles[0][2], 6)}
        low_x, low_y, high_x, high_y = self.extent
        return {"kind": self.layer.lower(), "shape": "profile", "size_mm": [round(high_x - low_x, 6), round(high_y - low_y, 6)]}


def _profiles(plate):
    from OCP.BRepTools import BRepTools
    from OCP.TopAbs import TopAbs_WIRE
    from OCP.TopExp import TopExp_Explorer

    def loops(face):
        outer = BRepTools.OuterWire_s(face)
        found, explorer = [], TopExp_Explorer(face, TopAbs_WIRE)
        while explorer.More():
            found.append((explorer.Current().IsSame(outer), _profile_of(plate, explorer.Current())))
            explorer.Next()
        return found

    top, bottom = loops(plate.top_face), loops(plate.bottom_face)
    outline = next(profile for outer, profile in top if outer)
    outline.layer = OUTLINE
    bottom_inner = [profile for outer, profile in bottom if not outer]
    profiles = [outline]
    for outer, profile in top:
        if outer:
            continue
        through = any(_same_extent(profile.extent, other.extent) for other in bottom_inner)
        profile.layer = THROUGH if through else POCKET_TOP
        profiles.append(profile)
    for profile in bottom_inner:
        if not any(_same_extent(profile.extent, other.extent) for other in profiles):
            profile.layer = POCKET_BOTTOM
            profiles.append(profile)
    return profiles


def _same_extent(a, b):
    return all(abs(p - q) < LENGTH_TOLERANCE_MM * 10 for p, q in zip(a, b))


def _profile_of(plate, wire):
    from OCP.BRepAdaptor import BRepAdaptor_Curve
    from OCP.GeomAbs import GeomAbs_Circle, GeomAbs_Line
    from OCP.TopAbs import TopAbs_EDGE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    entities, points = [], []
    explorer = TopExp_Explorer(wire, TopAbs_EDGE)
    while explorer.More():
        edge = TopoDS.Edge(explorer.Current())
        explorer.Next()
        curve = BRepAdaptor_Curve(edge)
        first, last = curve.FirstParameter(), curve.LastParameter()
        start, end = _to_2d(plate, curve.Value(first)), _to_2d(plate, curve.Value(last))
        points.extend(_edge_points(plate, edge))
        kind = curve.GetType()
        if kind == GeomAbs_Line:
            entities.append(("line", start, end))
        elif kind == GeomAbs_Circle and 1 - abs(_dot(_xyz(curve.Circle().Axis().Direction()), plate.normal)) < ANGLE_TOLERANCE:
            circle = curve.Circle()
            centre, radius = _to_2d(plate, circle.Location()), circle.Radius()
            if last - first >= 2 * math.pi - 1e-9:
                entities.append(("circle", centre, radius))
            else:
                start_angle = math.degrees(math.atan2(start[1] - centre[1], start[0] - centre[0]))
                end_angle = math.degrees(math.atan2(end[1] - centre[1], end[0] - centre[0]))
                counter_clockwise = _dot(_xyz(circle.Axis().Direction()), plate.normal) > 0
                entities.append(("arc", centre, radius, *((start_angle, end_angle) if counter_clockwise else (end_angle, start_angle))))
        else:
            entities.append(("polyline", _edge_points(plate, edge)))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Profile("", entities, (min(xs), min(ys), max(xs), max(ys)))


def write_dxf(plate, path):
    """The plate's outline, through-holes and pockets, seen from its top face, in mm, corner at 0,0."""
    import ezdxf
    from ezdxf import units

    profiles = _profiles(plate)
    low_x, low_y = profiles[0].extent[0], profiles[0].extent[1]

    def moved(point):
        return (point[0] - low_x, point[1] - low_y)

    document = ezdxf.new("R2010", setup=False)
    document.units = units.MM
    document.header["$MEASUREMENT"] = 1  # metric
    colours = {OUTLINE: 7, THROUGH: 1, POCKET_TOP: 3, POCKET_BOTTOM: 5}
    for layer, colour in colours.items():
        document.layers.add(layer, color=colour)
    space = document.modelspace()
    for profile in profiles:
        attributes = {"layer": profile.layer}
        for entity in profile.entities:
            if entity[0] == "line":
                space.add_line(moved(entity[1]), moved(entity[2]), dxfattribs=attributes)
            elif entity[0] == "circle":
                space.add_circle(moved(entity[1]), entity[2], dxfattribs=attributes)
            elif entity[0] == "arc":
                space.add_arc(moved(entity[1]), entity[2], entity[3], entity[4], dxfattribs=attributes)
            else:
                space.add_lwpolyline([moved(point) for point in entity[1]], dxfattribs=attributes)
    document.saveas(path)


if __name__ == "__main__":
    sys.exit(main())
