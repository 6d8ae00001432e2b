"""The geometry facts of the real corpus (../shared/step) against a reference computed independently.

For every real file, the facts the worker's child measures (files.geometry.measure_step) are
checked against a reference this test computes itself, in a child process of its own, with
Open CASCADE by another route: the volume of the whole shape at once (not solid by solid), and
the size from the extents of a fine mesh's nodes (not from a bounding box). Size and volume
must agree within 0.1%. The figures are printed in the test output, captured or not.
"""

import json
import subprocess
import sys

import pytest

from files.geometry import measure_step
from files.tests import corpus
from files.tests.helpers import post_file
from parts.tests.factories import make_part

SLOW = {
    name: [pytest.mark.slow]
    for name in ("kicad_molex_slimstack_2x40.step", "nist_ctc02_ap242e2.stp", "build123d_m6_screw.step")
}
AGREEMENT = 1e-3  # 0.1%
NO_SOLIDS = "returns 0 but the GLB has no triangles"

REFERENCE = r"""
import json, math, sys
from OCP.BRep import BRep_Tool
from OCP.BRepBndLib import BRepBndLib
from OCP.BRepGProp import BRepGProp
from OCP.BRepMesh import BRepMesh_IncrementalMesh
from OCP.Bnd import Bnd_Box
from OCP.GProp import GProp_GProps
from OCP.IFSelect import IFSelect_RetDone
from OCP.STEPControl import STEPControl_Reader
from OCP.TopAbs import TopAbs_FACE
from OCP.TopExp import TopExp_Explorer
from OCP.TopLoc import TopLoc_Location
from OCP.TopoDS import TopoDS

reader = STEPControl_Reader()
assert reader.ReadFile(sys.argv[1]) == IFSelect_RetDone
reader.TransferRoots()
shape = reader.OneShape()
props = GProp_GProps()
BRepGProp.VolumeProperties_s(shape, props, True)
rough = Bnd_Box()
BRepBndLib.Add_s(shape, rough, False)
if rough.IsVoid():
    print(json.dumps({"size_mm": None, "volume_mm3": None}))
    sys.exit(0)
low, high = rough.CornerMin(), rough.CornerMax()
diagonal = math.dist((low.X(), low.Y(), low.Z()), (high.X(), high.Y(), high.Z()))
BRepMesh_IncrementalMesh(shape, diagonal * 1e-4, False, 0.05, False)
axes = ([], [], [])
faces = TopExp_Explorer(shape, TopAbs_FACE)
while faces.More():
    face = TopoDS.Face(faces.Current())
    faces.Next()
    location = TopLoc_Location()
    mesh = BRep_Tool.Triangulation_s(face, location)
    if mesh is None:
        continue
    moved = location.Transformation()
    for index in range(1, mesh.NbNodes() + 1):
        point = mesh.Node(index).Transformed(moved)
        for axis, value in zip(axes, (point.X(), point.Y(), point.Z())):
            axis.append(value)
print(json.dumps({"size_mm": [max(a) - min(a) for a in axes] if axes[0] else None, "volume_mm3": abs(props.Mass())}))
"""


def reference(path):
    done = subprocess.run([sys.executable, "-c", REFERENCE, str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(capsys, line):
    with capsys.disabled():
        print(f"\n  {line}", end="")


@pytest.mark.parametrize("row", corpus.params(corpus.real_files, SLOW))
def test_the_measured_size_and_volume_agree_with_an_independent_reference(row, tmp_path, capsys):
    measured = measure_step(str(row["path"]), str(tmp_path / "facts.json"))
    assert measured.ok, measured.error
    facts, expected = measured.facts, reference(row["path"])

    report(capsys, (
        f"{row['file']}: size {facts['bbox_mm']} mm (reference {expected['size_mm']}), volume "
        f"{facts['volume_mm3']} mm³ (reference {expected['volume_mm3']}), {facts['solids']} solids, "
        f"measured in {measured.seconds:.2f} s, peak {measured.peak_rss_mb} MB"
    ))
    if row["expected"] == NO_SOLIDS:
        assert (facts["solids"], facts["volume_mm3"]) == (0, None)
        return
    assert facts["solids"] >= 1
    assert facts["bbox_mm"] == pytest.approx(expected["size_mm"], rel=AGREEMENT)
    assert facts["volume_mm3"] == pytest.approx(expected["volume_mm3"], rel=AGREEMENT)


@pytest.fixture
def uploaded(as_fabricator, django_capture_on_commit_callbacks):
    def upload(name):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(as_fabricator, make_part(), corpus.real_file(name).read_bytes(), name)
        assert response.status_code == 201, response.json()
        return as_fabricator.get(f"/api/revisions/{response.json()['id']}/").json()

    return upload


@pytest.mark.django_db
def test_the_motor_modelled_a_thousand_times_too_large_is_flagged_as_a_unit_error(uploaded, capsys):
    revision = uploaded("occt_as1_motor.step")
    warning = revision["geometry"]["unit_warning"]

    report(capsys, f"occt_as1_motor.step: {warning['message']}")
    assert revision["geometry"]["size_mm"] == pytest.approx([209000, 95000, 188900])
    assert warning["factor"] == pytest.approx(0.001)
    assert warning["plausible_size_mm"] == pytest.approx([209, 95, 188.9])


@pytest.mark.django_db
def test_the_onshape_plate_written_in_inches_shows_its_size_in_millimetres(uploaded):
    geometry = uploaded("onshape_material_ap242.stp")["geometry"]

    assert geometry["size_mm"] == pytest.approx([69.946, 25.4, 60.356], abs=1e-3)
    assert geometry["plate"]["thickness_mm"] == pytest.approx(25.4)
    assert geometry["unit_warning"] is None


@pytest.mark.django_db
def test_a_real_plate_in_inches_gets_a_dxf_of_its_outline_in_millimetres(uploaded, as_viewer, tmp_path):
    import ezdxf
    from ezdxf import bbox

    revision = uploaded("sw2018_base_interface_ap203.step")
    assert revision["geometry"]["plate"]["thickness_mm"] == pytest.approx(4.7625)  # 3/16 in

    response = as_viewer.get(revision["dxf_url"])
    (tmp_path / "plate.dxf").write_bytes(b"".join(response.streaming_content) if response.streaming else response.content)
    document = ezdxf.readfile(tmp_path / "plate.dxf")
    outline = bbox.extents(document.modelspace().query('*[layer=="OUTLINE"]'))
    size = sorted([outline.size.x, outline.size.y])
    assert size == pytest.approx(sorted(revision["geometry"]["plate"]["outline_mm"]), rel=AGREEMENT)


@pytest.mark.parametrize("name", ["del1_direction_kicad_r0603.stp", "garbled05_nist_ctc01_doublefree.stp"])
def test_a_file_that_crashes_open_cascade_costs_only_its_facts(name, tmp_path):
    crashed = measure_step(str(corpus.bad_file(name)), str(tmp_path / "facts.json"))
    after = measure_step(str(corpus.real_file("proe_as1_pe_203.stp")), str(tmp_path / "next.json"))

    assert not crashed.ok and crashed.error.startswith("measuring crashed (signal ")
    assert after.ok and after.facts["solids"] == 18  # the next file is measured as if nothing happened
