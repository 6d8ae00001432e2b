"""The shared corpus of real and broken STEP files, through upload and conversion as a user sends them.

MANIFEST.tsv and BAD.tsv (../shared/step) say what each file is and what the converter
does with it; these tests check that Partsite turns that into the right answer.
"""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from files.converter import NO_TRIANGLES
from files.tests import corpus
from files.tests.samples import box_step
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

SLOW = {"kicad_molex_slimstack_2x40.step": [pytest.mark.slow], "nist_ctc02_ap242e2.stp": [pytest.mark.slow]}
NO_SOLIDS = "returns 0 but the GLB has no triangles"
SCHEMA_FAMILIES = {"AP209": "AP209", "AUTOMOTIVE_DESIGN": "AP214", "AP242": "AP242", "CONFIG_CONTROL_DESIGN": "AP203"}

# What a user is told when a broken file is refused at upload; the others are accepted
# (their header is fine) and end as failed conversions with the reason.
REFUSED_AT_UPLOAD = {
    "empty_whitespace.stp": "only whitespace",
    "zero_bytes.stp": "The file is empty (0 bytes).",
    "gzipped_real.stp": "compressed with gzip",
    "iges_renamed.stp": "looks like an IGES file",
    "plain_text.stp": "does not start with ISO-10303-21;",
    "png_renamed.stp": "it is a PNG image",
    "utf16_real.stp": "saved as UTF-16",
    "truncated30_nist_ctc01.stp": "the STEP file is truncated",
}
FAILED_CONVERSION = {
    "del1_direction_kicad_r0603.stp": "converter crashed (segmentation fault, signal 11)",
    "garbled05_nist_ctc01_doublefree.stp": "converter aborted (signal 6)",
}


def upload(client, path, part=None):
    with open(path, "rb") as step:
        content = step.read()
    return client.post(
        f"/api/parts/{(part or make_part()).pk}/revisions/",
        {"file": SimpleUploadedFile(path.name, content)}, format="multipart",
    )


@pytest.fixture
def convert(as_fabricator, django_capture_on_commit_callbacks):
    def run(path):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(as_fabricator, path)
        if response.status_code != 201:
            return response
        return as_fabricator.get(f"/api/revisions/{response.json()['id']}/")

    return run


@pytest.mark.parametrize("row", corpus.params(corpus.real_files, marks=SLOW))
def test_every_real_file_uploads_and_converts_as_its_manifest_says(convert, row):
    revision = convert(row["path"]).json()

    assert revision["size"] == int(row["bytes"])
    assert revision["sha256"] == row["sha256"]
    assert revision["file_schema"] == row["schema"]
    assert revision["schema"] == next(
        family for prefix, family in SCHEMA_FAMILIES.items() if row["schema"].startswith(prefix)
    )
    if row["originating_system"] != "(blank)":
        assert revision["originating_system"] == row["originating_system"]
    if row["expected"] == NO_SOLIDS:
        assert (revision["conversion_status"], revision["conversion_error"]) == ("failed", NO_TRIANGLES)
        assert revision["preview_url"] is None
    else:
        assert revision["conversion_status"] == "ready", revision["conversion_error"]
        assert all(length > 0 for length in revision["bbox_mm"])
        assert revision["preview_url"], revision["preview_error"]
        if row["triangles"]:
            assert revision["triangles"] == pytest.approx(int(row["triangles"]), rel=0.2)
        else:  # occt_as1_motor.step: modelled 1000x too large, it needs a tolerance to match
            assert 1000 < revision["triangles"] < 1_000_000


@pytest.mark.parametrize("row", corpus.params(corpus.bad_files))
def test_every_broken_file_is_refused_or_fails_conversion_with_a_reason(convert, row):
    response = convert(row["path"])

    if row["file"] in REFUSED_AT_UPLOAD:
        assert response.status_code == 400
        assert REFUSED_AT_UPLOAD[row["file"]] in response.json()["file"][0]
        return
    revision = response.json()
    assert revision["conversion_status"] == "failed"
    assert revision["conversion_error"]
    if row["file"] in FAILED_CONVERSION:
        assert revision["conversion_error"] == FAILED_CONVERSION[row["file"]]


def test_after_files_that_crash_the_converter_the_next_file_still_converts(convert, tmp_path):
    for name in FAILED_CONVERSION:
        assert convert(corpus.bad_file(name)).json()["conversion_status"] == "failed"
    box = tmp_path / "box.step"
    box.write_bytes(box_step())

    revision = convert(box).json()

    assert revision["conversion_status"] == "ready"


def test_the_same_real_file_on_two_parts_is_one_sha256(as_fabricator):
    path = corpus.real_file("onshape_material_ap242.stp")

    first, second = upload(as_fabricator, path).json(), upload(as_fabricator, path).json()

    assert first["sha256"] == second["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert second["same_file_on_other_parts"][0]["revision"] == first["id"]
