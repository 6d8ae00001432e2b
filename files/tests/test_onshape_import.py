"""Importing a part's Onshape tab as a new revision, against the fake Onshape: exported, waited for,
downloaded and stored as an upload would be, recording the Onshape version it came from."""

import pytest
from django.test import Client

from files.models import ImportStatus, OnshapeImport, Revision
from files.tests.fake_onshape import FAILURE_REASON, Element
from files.tests.helpers import fetch
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part
from partsite.models import Event
from partsite.testing import Telling


@pytest.fixture
def told(django_capture_on_commit_callbacks):
    """Imports started inside it run in-process (the fake Onshape is polled without waiting)."""
    return Telling(django_capture_on_commit_callbacks)


@pytest.fixture
def document(fake_onshape):
    return fake_onshape.document()


def linked_part(document, element, wvm="w"):
    return make_part(onshape_url=document.url(document.add(element), wvm))


def start(client, part):
    return client.post(f"/api/parts/{part.pk}/onshape-import/")


def test_a_part_studio_becomes_a_step_revision_exported_at_the_exact_microversion(
    fake_onshape, document, as_fabricator, fabricator, told,
):
    part = linked_part(document, Element("PARTSTUDIO", "Bracket v2", box_step(30, 20, 10)))

    with told:
        response = start(as_fabricator, part)

    assert response.status_code == 202, response.json()
    imported = OnshapeImport.objects.get()
    assert imported.status == ImportStatus.DONE, imported.error
    revision = imported.revision
    assert (revision.label, revision.filename, revision.uploaded_by) == ("R1", "Bracket v2.step", fabricator)
    assert fetch(as_fabricator, f"/api/revisions/{revision.pk}/download/")[2] == box_step(30, 20, 10)
    assert fake_onshape.translated() == [("STEP", "m", document.microversion)]
    assert as_fabricator.get(f"/api/revisions/{revision.pk}/").json()["onshape"] == {
        "document_id": document.id, "element_id": imported.element_id, "wvm": "w", "wvm_id": document.workspace,
        "microversion_id": document.microversion,
    }
    assert revision.schema == "AP214"
    assert (revision.conversion_status, revision.bbox_mm) == ("ready", [30.0, 20.0, 10.0])  # converted as uploads are
    assert Event.objects.filter(type="revision.uploaded", revision_id=revision.pk).exists()
    assert fake_onshape.refused == []


def test_a_drawing_becomes_a_pdf_drawing_exported_from_its_version(fake_onshape, document, as_fabricator, told):
    part = linked_part(document, Element("DRAWING", "Bracket drawing", pdf_bytes()), wvm="v")

    with told:
        start(as_fabricator, part)

    revision = OnshapeImport.objects.get().revision
    assert (revision.label, revision.filename, revision.kind) == ("D1", "Bracket drawing.pdf", "drawing")
    assert fake_onshape.translated() == [("PDF", "v", document.version)]


def test_a_slow_export_is_waited_for(fake_onshape, document, as_fabricator, told):
    part = linked_part(document, Element("ASSEMBLY", "Gearbox", box_step(), behaviour="slow"))

    with told:
        start(as_fabricator, part)

    assert OnshapeImport.objects.get().status == ImportStatus.DONE
    assert next(iter(fake_onshape.translations.values())).looks == fake_onshape.slow_polls + 1


def test_an_export_that_takes_too_long_is_given_up(settings, document, as_fabricator, told):
    settings.ONSHAPE_TRANSLATION_TIMEOUT_SECONDS = 0
    part = linked_part(document, Element("PARTSTUDIO", "Gearbox", box_step(), behaviour="slow"))

    with told:
        start(as_fabricator, part)

    imported = OnshapeImport.objects.get()
    assert imported.status == ImportStatus.FAILED
    assert imported.error == "Onshape did not finish exporting “Gearbox” within 0 s."
    assert not Revision.objects.exists()


def test_a_failed_export_fails_the_import_with_onshapes_reason(document, as_fabricator, told):
    part = linked_part(document, Element("PARTSTUDIO", "Empty", box_step(), behaviour="failed"))

    with told:
        start(as_fabricator, part)

    response = as_fabricator.get(f"/api/parts/{part.pk}/onshape-import/").json()
    assert response["results"][0]["status"] == "failed"
    assert response["results"][0]["error"] == f"Onshape could not export “Empty”: {FAILURE_REASON}."


def test_the_same_microversion_is_not_imported_twice(document, as_fabricator, told):
    part = linked_part(document, Element("PARTSTUDIO", "Bracket", box_step()))
    with told:
        start(as_fabricator, part)

    with told:
        start(as_fabricator, part)

    second = OnshapeImport.objects.order_by("pk").last()
    assert second.status == ImportStatus.FAILED and "already revision R1" in second.error
    assert Revision.objects.count() == 1


def test_an_export_that_is_not_a_step_file_is_refused_as_an_upload_would_be(document, as_fabricator, told):
    part = linked_part(document, Element("PARTSTUDIO", "Odd", b"solid ascii stl, not STEP\n"))

    with told:
        start(as_fabricator, part)

    imported = OnshapeImport.objects.get()
    assert imported.status == ImportStatus.FAILED and "ISO-10303-21" in imported.error
    assert not Revision.objects.exists()


def test_a_tab_that_cannot_be_exported_is_said_so(document, as_fabricator, told):
    part = linked_part(document, Element("BLOB", "notes.txt", b"hello"))

    with told:
        start(as_fabricator, part)

    assert "only part studios, assemblies and drawings can be imported" in OnshapeImport.objects.get().error


def test_who_may_import_and_when(document, fake_onshape, as_viewer, as_fabricator, anonymous, settings):
    part = linked_part(document, Element("PARTSTUDIO", "Bracket", box_step()))

    assert start(as_viewer, part).status_code == 403
    assert start(anonymous, part).status_code == 401
    assert start(as_fabricator, make_part()).json()["detail"].endswith("has no Onshape link; add one first.")
    first = start(as_fabricator, part)
    assert first.status_code == 202  # no on_commit here: it stays queued
    again = start(as_fabricator, part)
    assert again.status_code == 409 and again.json()["onshape_import"] == first.json()["id"]
    settings.ONSHAPE_ACCESS_KEY = ""
    assert "not set up" in start(as_fabricator, make_part(onshape_url=part.onshape_url)).json()["detail"]


def test_the_part_page_has_an_import_button_for_those_who_may_upload(document, fabricator, viewer, told):
    part = linked_part(document, Element("PARTSTUDIO", "Bracket", box_step()))
    browser, looker = Client(), Client()
    browser.force_login(fabricator)
    looker.force_login(viewer)

    assert "Import from Onshape" not in looker.get(f"/parts/{part.pk}/").content.decode()
    with told:
        browser.post(f"/parts/{part.pk}/onshape-import/")

    page = browser.get(f"/parts/{part.pk}/").content.decode()
    assert "Import from Onshape" in page
    assert "<strong>imported</strong> as R1" in page


def test_an_export_cut_short_is_refused_as_truncated(document, as_fabricator, told):
    part = linked_part(document, Element("PARTSTUDIO", "Cut", box_step()[:-200]))

    with told:
        start(as_fabricator, part)

    imported = OnshapeImport.objects.get()
    assert imported.status == ImportStatus.FAILED and "truncated" in imported.error
    assert not Revision.objects.exists()


def test_a_tab_named_with_hidden_characters_gives_a_clean_file_name(document, as_fabricator, told):
    part = linked_part(document, Element("PARTSTUDIO", "Brack\u202eet\r\n/../x", box_step()))

    with told:
        start(as_fabricator, part)

    assert Revision.objects.get().filename == "Bracket_.._x.step"
