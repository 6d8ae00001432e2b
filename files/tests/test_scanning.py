"""Malware scanning of uploads with a real clamd: an EICAR upload is quarantined and never served, while
a clean one is; nothing unscanned is served while scanning is on; leads are told."""

import pytest

from audit.models import Notification, NotificationKind
from files.models import Revision, ScanStatus
from files.scanning import MAX_ATTEMPTS, scans_requeue
from files.storage import vault
from files.tests.conftest import EICAR
from files.tests.helpers import convert_now, fetch, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part
from partsite.testing import Telling


def infected_pdf():
    return pdf_bytes()[:-6] + EICAR + b"\n%%EOF\n"


def infected_step():
    return box_step().replace(b"ENDSEC;", b"/* " + EICAR + b" */ ENDSEC;", 1)


@pytest.fixture
def scanned(django_capture_on_commit_callbacks):
    """Uploads inside it are scanned (and told) when they commit."""
    return Telling(django_capture_on_commit_callbacks)


def test_an_eicar_upload_is_quarantined_while_a_clean_one_is_served(scanning, as_fabricator, as_viewer, lead, scanned):
    part = make_part()
    with scanned:
        clean = post_file(as_fabricator, part, pdf_bytes(), "clean.pdf").json()
        infected = post_file(as_fabricator, part, infected_pdf(), "drawing.pdf").json()

    assert Revision.objects.get(pk=clean["id"]).scan_status == ScanStatus.CLEAN
    revision = Revision.objects.get(pk=infected["id"])
    assert revision.scan_status == ScanStatus.INFECTED
    assert revision.scan_signature.startswith("Partsite.Test.EICAR")
    assert fetch(as_viewer, f"/api/revisions/{clean['id']}/download/")[2] == pdf_bytes()
    response = as_viewer.get(f"/api/revisions/{infected['id']}/download/")
    assert response.status_code == 409
    assert response.json()["scan_status"] == "infected"
    assert "is infected (Partsite.Test.EICAR" in response.json()["detail"] and "quarantined" in response.json()["detail"]
    assert b"".join(vault().chunks(revision.storage_key)) == infected_pdf()  # kept, in quarantine
    [told] = Notification.objects.filter(kind=NotificationKind.INFECTED)
    assert told.recipient == lead and "D2 drawing.pdf is infected" in told.title


def test_an_infected_drawing_is_not_shown_and_an_infected_model_not_sent(scanning, as_fabricator, viewer, scanned):
    from django.test import Client

    part = make_part()
    with scanned:
        drawing = post_file(as_fabricator, part, infected_pdf(), "drawing.pdf").json()
        step = post_file(as_fabricator, part, infected_step(), "bracket.step").json()
    convert_now(step["id"])
    browser = Client()
    browser.force_login(viewer)

    shown = browser.get(f"/parts/{part.pk}/drawings/{drawing['id']}/")
    assert shown.status_code == 409 and "quarantined" in shown.content.decode()
    assert as_fabricator.get(f"/api/revisions/{step['id']}/model/").status_code == 409
    page = browser.get(f"/parts/{part.pk}/").content.decode()
    assert "Infected (quarantined)" in page and "data-model-url" not in page


def test_nothing_waiting_for_its_scan_is_served(settings, as_fabricator, as_viewer, scanned):
    settings.CLAMAV_ADDRESS = "tcp://127.0.0.1:8799"  # nobody answers there
    part = make_part()
    with scanned:
        revision = post_file(as_fabricator, part, box_step(), "bracket.step").json()
    convert_now(revision["id"])

    for url in (f"/api/revisions/{revision['id']}/download/", f"/api/revisions/{revision['id']}/model/",
                f"/api/parts/{part.pk}/download/"):
        response = as_viewer.get(url)
        assert response.status_code == 409, url
        assert "is waiting for its malware scan" in response.json()["detail"]
    stored = Revision.objects.get(pk=revision["id"])
    assert stored.scan_status == ScanStatus.PENDING and "127.0.0.1:8799" in stored.scan_error


def test_the_archive_refuses_a_revision_that_is_not_clean(scanning, as_fabricator, as_lead, lead, scanned):
    from parts import services as part_services

    part = make_part()
    with scanned:
        post_file(as_fabricator, part, infected_step(), "bracket.step")
    part_services.part_approve(part=part, actor=lead, note="", revision=part.revisions.latest_step(),
                               thickness_confirmed=True)

    response = as_lead.get("/api/parts/archive/")

    assert response.status_code == 409 and "quarantined" in response.json()["detail"]


def test_a_clamd_away_too_long_is_an_error_that_a_lead_can_scan_again(settings, scanning, as_fabricator, as_lead,
                                                                      scanned):
    part = make_part()
    settings.CLAMAV_ADDRESS = "tcp://127.0.0.1:8799"
    with scanned:
        revision = post_file(as_fabricator, part, box_step(), "bracket.step").json()
    for _ in range(MAX_ATTEMPTS - 1):
        Revision.objects.filter(pk=revision["id"]).update(scan_queued_at=None)
        with scanned:
            scans_requeue()
    assert Revision.objects.get(pk=revision["id"]).scan_status == ScanStatus.ERROR
    assert as_lead.get(f"/api/revisions/{revision['id']}/download/").json()["scan_status"] == "error"

    settings.CLAMAV_ADDRESS = scanning
    assert as_fabricator.post(f"/api/revisions/{revision['id']}/rescan/").status_code == 403
    with scanned:
        response = as_lead.post(f"/api/revisions/{revision['id']}/rescan/")

    assert response.status_code == 200
    assert Revision.objects.get(pk=revision["id"]).scan_status == ScanStatus.CLEAN


def test_without_a_clamd_address_scanning_is_off_and_files_are_served(settings, as_fabricator, as_viewer):
    settings.CLAMAV_ADDRESS = ""
    revision = post_file(as_fabricator, make_part(), pdf_bytes(), "drawing.pdf").json()

    assert revision["scan_status"] == "not_scanned"
    assert fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")[0] == 200


def test_files_uploaded_while_scanning_was_off_are_scanned_once_it_is_on(settings, scanning, as_fabricator, as_viewer,
                                                                         scanned):
    settings.CLAMAV_ADDRESS = ""
    revision = post_file(as_fabricator, make_part(), pdf_bytes(), "drawing.pdf").json()
    settings.CLAMAV_ADDRESS = scanning
    assert as_viewer.get(f"/api/revisions/{revision['id']}/download/").status_code == 409

    with scanned:
        assert scans_requeue() == 1

    assert Revision.objects.get(pk=revision["id"]).scan_status == ScanStatus.CLEAN
    assert fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")[0] == 200


def test_an_infected_file_is_never_served_even_once_scanning_is_off(settings, scanning, as_fabricator, as_viewer,
                                                                    scanned):
    with scanned:
        revision = post_file(as_fabricator, make_part(), infected_pdf(), "drawing.pdf").json()
    settings.CLAMAV_ADDRESS = ""

    assert as_viewer.get(f"/api/revisions/{revision['id']}/download/").status_code == 409
