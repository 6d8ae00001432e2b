"""Through a real Celery worker in a process of its own: an Onshape import, from the fake Onshape, to a
converted 3D model; an EICAR upload quarantined by a real clamd while a clean one is served."""

import pytest

from audit.models import Notification, NotificationKind
from files.models import ImportStatus, OnshapeImport, Revision, ScanStatus
from files.tests import fake_onshape
from files.tests.conftest import EICAR
from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part
from partsite.testing import WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def onshape():
    fake = fake_onshape.FakeOnshape(slow_polls=2)
    server = fake_onshape.start(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, django_db_blocker, onshape, clamd):
    with django_db_blocker.unblock():
        process = WorkerProcess(
            tmp_path_factory.mktemp("worker"), ONSHAPE_API_URL=onshape.url, ONSHAPE_ACCESS_KEY=fake_onshape.ACCESS_KEY,
            ONSHAPE_SECRET_KEY=fake_onshape.SECRET_KEY, ONSHAPE_POLL_SECONDS=1, CLAMAV_ADDRESS=clamd,
        ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def through(worker, settings, onshape, clamd):
    settings.MEDIA_ROOT = worker.data_dir / "media"
    settings.ONSHAPE_API_URL = onshape.url
    settings.ONSHAPE_ACCESS_KEY, settings.ONSHAPE_SECRET_KEY = fake_onshape.ACCESS_KEY, fake_onshape.SECRET_KEY
    settings.CLAMAV_ADDRESS = clamd
    with worker.publishing():
        yield worker


def test_an_onshape_import_reaches_a_converted_3d_model(through, onshape, as_fabricator):
    document = onshape.document()
    element = document.add(fake_onshape.Element("PARTSTUDIO", "Motor mount", box_step(40, 30, 8), behaviour="slow"))
    part = make_part(onshape_url=document.url(element))

    response = as_fabricator.post(f"/api/parts/{part.pk}/onshape-import/")

    assert response.status_code == 202
    through.wait_for(lambda: OnshapeImport.objects.get().status not in ("queued", "translating"), "the import")
    imported = OnshapeImport.objects.get()
    assert imported.status == ImportStatus.DONE, imported.error
    through.wait_for(
        lambda: Revision.objects.get(pk=imported.revision_id).conversion_status in ("ready", "failed"), "the conversion",
    )
    revision = Revision.objects.get(pk=imported.revision_id)
    assert (revision.conversion_status, revision.bbox_mm) == ("ready", [40.0, 30.0, 8.0])
    assert revision.onshape_microversion_id == document.microversion
    through.wait_for(lambda: Revision.objects.get(pk=revision.pk).scan_status == ScanStatus.CLEAN, "the scan")
    status, _, model = fetch(as_fabricator, f"/api/revisions/{revision.pk}/model/")
    assert status == 200 and model[:4] == b"glTF"
    assert onshape.refused == []


def test_an_eicar_upload_is_quarantined_while_a_clean_one_is_served(through, as_fabricator, as_viewer, lead):
    part = make_part()
    clean = post_file(as_fabricator, part, pdf_bytes(), "clean.pdf").json()
    infected = post_file(as_fabricator, part, pdf_bytes()[:-6] + EICAR + b"\n%%EOF\n", "infected.pdf").json()

    through.wait_for(
        lambda: not Revision.objects.filter(scan_status=ScanStatus.PENDING).exists(), "both scans",
    )

    assert fetch(as_viewer, f"/api/revisions/{clean['id']}/download/")[2] == pdf_bytes()
    refused = as_viewer.get(f"/api/revisions/{infected['id']}/download/")
    assert refused.status_code == 409 and refused.json()["scan_status"] == "infected"
    through.wait_for(lambda: Notification.objects.filter(kind=NotificationKind.INFECTED).exists(), "the leads told")
    assert Notification.objects.get(kind=NotificationKind.INFECTED).recipient == lead
