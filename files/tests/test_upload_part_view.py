"""PUT /api/uploads/{id}/parts/{n}/: the signed, expiring part URLs of direct uploads on local disk."""

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from files.models import Upload
from files.storage import vault
from files.tests.samples import pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

CONTENT = pdf_bytes(3000)


@pytest.fixture
def upload(as_fabricator):
    """A one-part upload of CONTENT, started by the fabricator."""
    response = as_fabricator.post(
        f"/api/parts/{make_part().pk}/uploads/", {"filename": "bracket.pdf", "size": len(CONTENT)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def put(client, path, data, **extra):
    return client.generic("PUT", path, data, content_type="application/octet-stream", **extra)


def part_path(upload, number=1):
    return upload["parts"][number - 1]["url"].removeprefix("http://testserver")


def signed_path(upload, number, expires):
    """A part URL signed the way Partsite signs them, for a part number or expiry of the test's choosing."""
    signature = vault().signature(Upload.objects.get(pk=upload["id"]), number, expires)
    return f"/api/uploads/{upload['id']}/parts/{number}/?expires={expires}&signature={signature}"


def with_query(path, **changes):
    url = urlsplit(path)
    query = {name: values[0] for name, values in parse_qs(url.query).items()} | changes
    return f"{url.path}?{'&'.join(f'{name}={value}' for name, value in query.items())}"


def received(client, upload):
    return [part["received"] for part in client.get(f"/api/uploads/{upload['id']}/").json()["parts"]]


def test_a_part_sent_to_its_url_is_received_without_an_api_key(anonymous, as_fabricator, upload):
    response = put(anonymous, part_path(upload), CONTENT)

    assert response.status_code == 200
    assert response.json() == {"number": 1, "received": len(CONTENT)}
    assert received(as_fabricator, upload) == [True]


def test_a_tampered_signature_is_refused(anonymous, as_fabricator, upload):
    path = part_path(upload)
    signature = parse_qs(urlsplit(path).query)["signature"][0]
    tampered = signature[:-1] + ("A" if signature[-1] != "A" else "B")

    response = put(anonymous, with_query(path, signature=tampered), CONTENT)

    assert response.status_code == 403
    assert "invalid or has expired" in response.json()["detail"]
    assert received(as_fabricator, upload) == [False]


def test_an_expiry_moved_later_is_refused(anonymous, upload):
    path = part_path(upload)
    later = int(parse_qs(urlsplit(path).query)["expires"][0]) + 3600

    assert put(anonymous, with_query(path, expires=later), CONTENT).status_code == 403


def test_a_url_without_its_signature_is_refused(anonymous, upload):
    assert put(anonymous, urlsplit(part_path(upload)).path, CONTENT).status_code == 403


def test_one_parts_signature_does_not_open_another_part(anonymous, upload):
    path = part_path(upload).replace("/parts/1/", "/parts/2/")

    assert put(anonymous, path, CONTENT).status_code == 403


def test_a_url_past_its_expiry_is_refused_even_when_properly_signed(anonymous, upload):
    response = put(anonymous, signed_path(upload, 1, int(time.time()) - 1), CONTENT)

    assert response.status_code == 403
    assert "GET the upload again for fresh part URLs" in response.json()["detail"]


def test_a_part_of_the_wrong_length_is_400_and_not_kept(anonymous, as_fabricator, upload, settings):
    response = put(anonymous, part_path(upload), CONTENT[:-1])

    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"Part 1 must be exactly {len(CONTENT)} bytes; the request says {len(CONTENT) - 1}."
    )
    assert received(as_fabricator, upload) == [False]
    assert list((settings.UPLOAD_PARTS_DIR / upload["id"]).iterdir()) == []


def test_a_body_that_ends_before_its_content_length_is_400_and_not_kept(anonymous, as_fabricator, upload, settings):
    dropped = io.BytesIO(CONTENT[:-100])  # the connection went away 100 bytes early

    response = put(anonymous, part_path(upload), CONTENT, **{"wsgi.input": dropped})

    assert response.status_code == 400
    assert response.json()["detail"] == f"Part 1 must be exactly {len(CONTENT)} bytes; {len(CONTENT) - 100} arrived."
    assert received(as_fabricator, upload) == [False]
    assert list((settings.UPLOAD_PARTS_DIR / upload["id"]).iterdir()) == []


def test_a_part_number_out_of_range_is_400(anonymous, upload):
    response = put(anonymous, signed_path(upload, 2, int(time.time()) + 60), CONTENT)

    assert response.status_code == 400
    assert response.json()["detail"] == "This upload has parts 1 to 1; there is no part 2."


def test_a_part_without_a_content_length_is_411(anonymous, upload):
    assert put(anonymous, part_path(upload), b"").status_code == 411


def test_a_part_for_an_upload_that_is_over_is_409(anonymous, as_fabricator, upload):
    as_fabricator.delete(f"/api/uploads/{upload['id']}/")

    response = put(anonymous, part_path(upload), CONTENT)

    assert response.status_code == 409
    assert response.json()["detail"] == "This upload is aborted."


def test_a_part_url_of_an_unknown_upload_is_refused(anonymous, upload):
    path = part_path(upload).replace(upload["id"], "00000000-0000-4000-8000-000000000000")

    assert put(anonymous, path, CONTENT).status_code == 403


def test_only_put_is_answered(anonymous, upload):
    assert anonymous.get(part_path(upload)).status_code == 405
    assert anonymous.post(part_path(upload), CONTENT, content_type="application/octet-stream").status_code == 405


def test_a_part_url_is_refused_when_files_live_on_s3(anonymous, upload, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}

    assert put(anonymous, part_path(upload), CONTENT).status_code == 403


def test_a_part_labelled_json_or_form_is_still_taken_whatever_its_size(upload, client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # the limit on JSON and form bodies (partsite.bodies)

    response = client.generic("PUT", part_path(upload), CONTENT, content_type="application/json")

    assert response.status_code == 200, response.content
