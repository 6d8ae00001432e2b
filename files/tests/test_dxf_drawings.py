"""DXF drawings for CNC and laser work, beside PDF ones: checked to be DXF by their header, served as DXF."""

import pytest
from django.test import Client

from files.models import Kind
from files.step_header import InvalidContent, sniff_dxf
from files.tests.helpers import fetch, post_file
from files.tests.samples import pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

ASCII_DXF = b"999\nmade by a test\n  0\nSECTION\n  2\nHEADER\n  0\nENDSEC\n  0\nSECTION\n  2\nENTITIES\n" \
    b"  0\nLINE\n  8\n0\n 10\n0.0\n 20\n0.0\n 11\n100.0\n 21\n50.0\n  0\nENDSEC\n  0\nEOF\n"


@pytest.mark.parametrize("head", [ASCII_DXF, ASCII_DXF.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + ASCII_DXF,
                                  b"AutoCAD Binary DXF\r\n\x1a\x00" + b"\x00" * 20])
def test_ascii_and_binary_dxf_headers_are_recognised(head):
    sniff_dxf(head)


@pytest.mark.parametrize("head, reason", [
    (pdf_bytes(), "a PDF document"),
    (b"  0\nLINE\n", "does not start with a DXF section"),
    (b"", "empty"),
])
def test_a_file_that_is_not_a_dxf_is_refused_saying_what_it_is(head, reason):
    with pytest.raises(InvalidContent, match=reason):
        sniff_dxf(head)


def test_a_dxf_uploads_as_a_drawing_and_downloads_as_dxf(as_fabricator, fabricator):
    part = make_part()
    response = post_file(as_fabricator, part, ASCII_DXF, filename="plate.dxf")
    assert response.status_code == 201, response.json()
    revision = part.revisions.get()
    assert (revision.kind, revision.label, revision.content_type) == (Kind.DRAWING, "D1", "image/vnd.dxf")
    assert revision.storage_key.endswith(".dxf")
    status, headers, body = fetch(as_fabricator, f"/api/revisions/{revision.pk}/download/")
    assert status == 200 and body == ASCII_DXF
    page = Client()
    page.force_login(fabricator)
    html = page.get(f"/parts/{part.pk}/").content.decode()
    assert "plate.dxf" in html and "DXF drawing" in html
    assert f'href="/parts/{part.pk}/drawings/{revision.pk}/"' not in html  # no in-browser view; a download


def test_a_pdf_named_dxf_is_refused(as_fabricator):
    response = post_file(as_fabricator, make_part(), pdf_bytes(), filename="plate.dxf")
    assert response.status_code == 400
    assert "not a DXF drawing: it is a PDF document" in response.json()["detail"]
