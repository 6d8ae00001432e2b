"""Small solids written as STEP with OCP, for the geometry tests: `python -m files.tests.cad_shapes KIND PATH [...]`.

Run as a child process so that the test process itself never loads Open CASCADE.
KIND is `plate` (width depth thickness [x y diameter]...), `rounded_plate` (width depth
thickness radius), `pocketed_plate` (width depth thickness pocket-width pocket-depth
pocket-deep), `cylinder` (radius height) or `box` (x y z); lengths in mm. `--inch` writes the file with inches as its length unit.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def step_of(kind, *numbers, inch=False) -> bytes:
    """The STEP file of a generated solid, written by a child process (the test process never loads OCP)."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"{kind}.step"
        subprocess.run(
            [sys.executable, "-m", "files.tests.cad_shapes", kind, str(path), *map(str, numbers),
             *(["--inch"] if inch else [])],
            check=True, cwd=PROJECT_ROOT, capture_output=True, timeout=120,
        )
        return path.read_bytes()


def plate(width, depth, thickness, holes):
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox, BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    shape = BRepPrimAPI_MakeBox(width, depth, thickness).Shape()
    for x, y, diameter in holes:
        axis = gp_Ax2(gp_Pnt(x, y, -1.0), gp_Dir(0, 0, 1))
        shape = BRepAlgoAPI_Cut(shape, BRepPrimAPI_MakeCylinder(axis, diameter / 2, thickness + 2).Shape()).Shape()
    return shape


def rounded_plate(width, depth, thickness, radius):
    """A plate whose four vertical edges are rounded: its outline has four quarter-circle arcs."""
    from OCP.BRepFilletAPI import BRepFilletAPI_MakeFillet
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.TopAbs import TopAbs_EDGE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS
    from OCP.BRepAdaptor import BRepAdaptor_Curve

    shape = BRepPrimAPI_MakeBox(width, depth, thickness).Shape()
    fillet = BRepFilletAPI_MakeFillet(shape)
    edges = TopExp_Explorer(shape, TopAbs_EDGE)
    while edges.More():
        edge = TopoDS.Edge(edges.Current())
        edges.Next()
        curve = BRepAdaptor_Curve(edge)
        start, end = curve.Value(curve.FirstParameter()), curve.Value(curve.LastParameter())
        if abs(start.X() - end.X()) < 1e-9 and abs(start.Y() - end.Y()) < 1e-9:  # vertical
            fillet.Add(radius, edge)
    return fillet.Shape()


def pocketed_plate(width, depth, thickness, pocket_width, pocket_depth, pocket_deep):
    """A plate with a rectangular pocket, centred, cut from its top face."""
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.gp import gp_Pnt

    shape = BRepPrimAPI_MakeBox(width, depth, thickness).Shape()
    corner = gp_Pnt((width - pocket_width) / 2, (depth - pocket_depth) / 2, thickness - pocket_deep)
    pocket = BRepPrimAPI_MakeBox(corner, pocket_width, pocket_depth, pocket_deep + 1).Shape()
    return BRepAlgoAPI_Cut(shape, pocket).Shape()


def cylinder(radius, height):
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder

    return BRepPrimAPI_MakeCylinder(radius, height).Shape()


def box(x, y, z):
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox

    return BRepPrimAPI_MakeBox(x, y, z).Shape()


def write_step(shape, path, unit="MM"):
    from OCP.Interface import Interface_Static
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Controller, STEPControl_Writer

    STEPControl_Controller.Init_s()
    writer = STEPControl_Writer()
    Interface_Static.SetCVal_s("write.step.unit", unit)
    writer.Transfer(shape, STEPControl_AsIs)
    if writer.Write(path) != 1:
        raise SystemExit(f"could not write {path}")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["plate", "cylinder", "box", "rounded_plate", "pocketed_plate"])
    parser.add_argument("path")
    parser.add_argument("numbers", nargs="*", type=float)
    parser.add_argument("--inch", action="store_true")
    args = parser.parse_args(argv)
    numbers = args.numbers
    if args.kind == "plate":
        holes = [tuple(numbers[i:i + 3]) for i in range(3, len(numbers), 3)]
        shape = plate(*numbers[:3], holes)
    else:
        shape = {"cylinder": cylinder, "box": box, "rounded_plate": rounded_plate, "pocketed_plate": pocketed_plate}[
            args.kind](*numbers)
    write_step(shape, args.path, "INCH" if args.inch else "MM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
