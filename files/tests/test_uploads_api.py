"""Direct, resumable uploads: /api/parts/{id}/uploads/ and /api/uploads/{id}/, on both storage backends."""

import hashlib
import uuid
from datetime import timedelta
from functools import cache

import pytest
from django.utils import timezone

from files.models import Revision, Upload
from files.services import uploads_expire
from files.storage import vault
from files.tasks import expire_uploads
from files.tests.helpers import fetch, send_part, stored_keys
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part
from partsite.testing import all_at_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

MIB = 2**20


@pytest.fixture(autouse=True)
def small_parts(settings):
    """5 MiB parts, the least S3 takes, so an 11 MB file comes in three."""
    settings.UPLOAD_PART_SIZE_MB = 5


@cache
def big_step():
    """An 11 MB STEP file: parts of 5, 5 and 1 MiB."""
    return box_step(name="Chassis", padding=11 * MIB)


def start(client, part, content, filename="chassis.step", declare_sha256=True, **fields):
    body = {"filename": filename, "size": len(content), "description": "Sent in parts", **fields}
    if declare_sha256:
        body.setdefault("sha256", hashlib.sha256(content).hexdigest())
    return client.post(f"/api/parts/{part.pk}/uploads/", body, format="json")


def piece(upload, content, number):
    """The bytes part `number` of an upload carries."""
    size = upload["part_size"]
    return content[(number - 1) * size : number * size]


def send(client, upload, content, numbers=None):
    for part in upload["parts"]:
        if numbers is None or part["number"] in numbers:
            assert send_part(client, part, piece(upload, content, part["number"])) == 200


def started_and_sent(client, part, content, **fields):
    response = start(client, part, content, **fields)
    assert response.status_code == 201, response.json()
    upload = response.json()
    send(client, upload, content)
    return upload


def complete(client, upload):
    return client.post(f"/api/uploads/{upload['id']}/complete/")


def refused(status):
    """A part URL of an upload that is over: 409 from Partsite, 404 NoSuchUpload from S3 (500 from moto)."""
    return status >= 400


def local_parts(settings):
    folder = settings.UPLOAD_PARTS_DIR
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")) if folder.exists() else []


# The round trip


def test_a_file_sent_in_parts_comes_back_byte_for_byte(as_fabricator, as_viewer):
    part = make_part()
    content = big_step()

    response = start(as_fabricator, part, content)

    assert response.status_code == 201, response.json()
    upload = response.json()
    assert (upload["part_size"], upload["size"], upload["status"]) == (5 * MIB, len(content), "open")
    assert [(p["number"], p["method"], p["received"]) for p in upload["parts"]] == [
        (1, "PUT", False), (2, "PUT", False), (3, "PUT", False),
    ]

    send(as_fabricator, upload, content)
    completed = complete(as_fabricator, upload)

    assert completed.status_code == 201, completed.json()
    revision = completed.json()
    assert (revision["label"], revision["filename"], revision["description"]) == (
        "R1", "chassis.step", "Sent in parts",
    )
    assert (revision["size"], revision["sha256"]) == (len(content), hashlib.sha256(content).hexdigest())
    assert (revision["uploaded_by"], revision["product_names"]) == ("bob", ["Chassis"])
    status, _, body = fetch(as_viewer, f"/api/revisions/{revision['id']}/download/")
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == revision["sha256"] and body == content


def test_a_completed_upload_leaves_only_the_revisions_object(as_fabricator, settings):
    part = make_part()
    upload = started_and_sent(as_fabricator, part, big_step())

    revision = complete(as_fabricator, upload).json()

    assert stored_keys() == [Revision.objects.get(pk=revision["id"]).storage_key]
    assert local_parts(settings) == []
    after = as_fabricator.get(f"/api/uploads/{upload['id']}/").json()
    assert (after["status"], after["revision"], after["parts"]) == ("completed", revision["id"], [])


def test_a_drawing_can_come_in_one_part(as_fabricator):
    content = pdf_bytes(3000)

    upload = started_and_sent(as_fabricator, make_part(), content, filename="bracket.pdf", declare_sha256=False)
    response = complete(as_fabricator, upload)

    assert len(upload["parts"]) == 1
    assert response.status_code == 201
    assert (response.json()["label"], response.json()["kind"]) == ("D1", "drawing")


def test_part_urls_lead_to_storage_on_s3_and_to_partsite_on_local_disk(as_fabricator, storage_backend, settings):
    upload = start(as_fabricator, make_part(), big_step()).json()

    urls = [part["url"] for part in upload["parts"]]

    if storage_backend == "s3":
        assert all(url.startswith(f"{settings.AWS_S3_PUBLIC_ENDPOINT_URL}/") for url in urls)
        assert all("partNumber=" in url and "uploadId=" in url and "X-Amz-Signature=" in url for url in urls)
    else:
        assert urls[0].startswith(f"http://testserver/api/uploads/{upload['id']}/parts/1/?expires=")
        assert all("signature=" in url for url in urls)


# Resuming


def test_an_upload_resumes_after_a_dropped_part(as_fabricator):
    part = make_part()
    content = big_step()
    upload = start(as_fabricator, part, content).json()
    send(as_fabricator, upload, content, numbers={1, 3})

    resumed = as_fabricator.get(f"/api/uploads/{upload['id']}/")

    assert resumed.status_code == 200
    assert [(p["number"], p["received"]) for p in resumed.json()["parts"]] == [(1, True), (2, False), (3, True)]
    early = complete(as_fabricator, upload)
    assert early.status_code == 409
    assert early.json()["missing"] == [2]
    assert "missing: 2." in early.json()["detail"]

    send(as_fabricator, resumed.json(), content, numbers={2})
    response = complete(as_fabricator, upload)

    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_part_of_the_wrong_size_does_not_count_as_received(as_fabricator, storage_backend):
    content = big_step()
    upload = start(as_fabricator, make_part(), content).json()
    send(as_fabricator, upload, content, numbers={1, 2})

    answer = send_part(as_fabricator, upload["parts"][2], piece(upload, content, 3)[:-10])

    # Partsite's own part URLs refuse it outright; S3 takes it, and Partsite does not count it.
    assert answer == (200 if storage_backend == "s3" else 400)
    resumed = as_fabricator.get(f"/api/uploads/{upload['id']}/").json()
    assert [p["received"] for p in resumed["parts"]] == [True, True, False]
    assert complete(as_fabricator, upload).json()["missing"] == [3]


def test_a_part_sent_again_replaces_the_first_copy(as_fabricator):
    content = pdf_bytes(3000)
    upload = start(as_fabricator, make_part(), content, filename="bracket.pdf").json()
    assert send_part(as_fabricator, upload["parts"][0], pdf_bytes(3000)[::-1]) == 200

    send(as_fabricator, upload, content)
    response = complete(as_fabricator, upload)

    assert response.status_code == 201, response.json()


# Verification on completion


def test_a_file_whose_sha256_is_not_the_declared_one_is_422_and_leaves_nothing(as_fabricator, settings):
    part = make_part()
    content = big_step()
    upload = start(as_fabricator, part, content, sha256="0" * 64).json()
    send(as_fabricator, upload, content)

    response = complete(as_fabricator, upload)

    assert response.status_code == 422
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert "not the declared 0000" in response.json()["detail"]
    assert stored_keys() == [] and local_parts(settings) == []
    assert not part.revisions.exists()
    after = as_fabricator.get(f"/api/uploads/{upload['id']}/").json()
    assert after["status"] == "failed" and "damaged on the way" in after["error"]


def test_content_that_is_not_step_is_refused_on_completion_and_leaves_nothing(as_fabricator, settings):
    part = make_part()
    content = b"\x89PNG\r\n\x1a\n" + bytes(4000)
    upload = started_and_sent(as_fabricator, part, content, filename="render.step")

    response = complete(as_fabricator, upload)

    assert response.status_code == 400
    assert "not a STEP file: it is a PNG image" in response.json()["detail"]
    assert stored_keys() == [] and local_parts(settings) == []
    assert not part.revisions.exists()


def test_completing_twice_is_409(as_fabricator):
    upload = started_and_sent(as_fabricator, make_part(), pdf_bytes(), filename="a.pdf")
    assert complete(as_fabricator, upload).status_code == 201

    response = complete(as_fabricator, upload)

    assert response.status_code == 409
    assert response.json()["detail"] == "This upload is completed."
    assert Revision.objects.count() == 1


def test_bytes_that_became_a_revision_meanwhile_are_409_on_completion(as_fabricator):
    part = make_part()
    content = pdf_bytes(3000)
    first = started_and_sent(as_fabricator, part, content, filename="a.pdf")
    second = started_and_sent(as_fabricator, part, content, filename="b.pdf")
    revision = complete(as_fabricator, first).json()

    response = complete(as_fabricator, second)

    assert response.status_code == 409
    assert response.json()["revision"] == revision["id"]
    assert stored_keys() == [Revision.objects.get().storage_key]


# Revision numbers


def test_uploads_completed_one_after_the_other_are_numbered_in_that_order(as_fabricator, as_lead):
    part = make_part()
    first = started_and_sent(as_fabricator, part, box_step(10, 10, 10), filename="first.step")
    second = started_and_sent(as_lead, part, box_step(20, 10, 10), filename="second.step")

    labels = [complete(as_lead, second).json()["label"], complete(as_fabricator, first).json()["label"]]

    assert labels == ["R1", "R2"]


@pytest.mark.django_db(transaction=True)
def test_uploads_completed_at_the_same_time_never_share_a_revision_number(fabricator):
    from conftest import client_for

    part = make_part()
    uploads = [
        started_and_sent(client_for(fabricator), part, box_step(10 * n, 10, 10), filename=f"v{n}.step")
        for n in range(1, 5)
    ]
    answers = all_at_once(lambda upload: complete(client_for(fabricator), upload).status_code, uploads)

    assert answers == [201] * len(uploads)
    assert sorted(part.revisions.values_list("number", flat=True)) == [1, 2, 3, 4]


# Aborting and expiry


def test_an_aborted_upload_discards_its_parts_and_cannot_be_completed(as_fabricator, settings):
    content = big_step()
    upload = start(as_fabricator, make_part(), content).json()
    send(as_fabricator, upload, content, numbers={1, 2})

    response = as_fabricator.delete(f"/api/uploads/{upload['id']}/")

    assert response.status_code == 204
    assert stored_keys() == [] and local_parts(settings) == []
    late = complete(as_fabricator, upload)
    assert late.status_code == 409
    assert late.json()["detail"] == "This upload is aborted."
    assert refused(send_part(as_fabricator, upload["parts"][2], piece(upload, content, 3)))
    assert as_fabricator.delete(f"/api/uploads/{upload['id']}/").status_code == 409


def test_an_abandoned_upload_is_cleaned_up_once_it_expires(as_fabricator, settings):
    content = big_step()
    upload = start(as_fabricator, make_part(), content).json()
    send(as_fabricator, upload, content, numbers={1, 2})
    Upload.objects.filter(pk=upload["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    cleaned = expire_uploads.delay().get()

    assert cleaned == 1
    assert Upload.objects.get(pk=upload["id"]).status == "expired"
    assert stored_keys() == [] and local_parts(settings) == []
    assert refused(send_part(as_fabricator, upload["parts"][2], piece(upload, content, 3)))
    late = complete(as_fabricator, upload)
    assert (late.status_code, late.json()["detail"]) == (409, "This upload is expired.")
    assert uploads_expire() == 0


def unfinished_parts(settings, storage_backend):
    """Parts waiting in storage: local part files, or S3 multipart uploads not yet completed or aborted."""
    if storage_backend == "local":
        return local_parts(settings)
    import boto3

    s3 = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    return [item["Key"] for item in s3.list_multipart_uploads(Bucket=settings.AWS_STORAGE_BUCKET_NAME).get("Uploads", [])]


def test_parts_that_could_not_be_discarded_are_discarded_by_the_next_clean_up(
    as_fabricator, settings, storage_backend, monkeypatch
):
    content = big_step()
    upload = start(as_fabricator, make_part(), content).json()
    send(as_fabricator, upload, content, numbers={1})
    backend = type(vault())
    real_discard = backend.discard_parts

    def storage_down(self, upload):
        raise OSError("storage is down")

    monkeypatch.setattr(backend, "discard_parts", storage_down)
    assert as_fabricator.delete(f"/api/uploads/{upload['id']}/").status_code == 204
    assert unfinished_parts(settings, storage_backend) != []

    monkeypatch.setattr(backend, "discard_parts", real_discard)
    uploads_expire()

    assert unfinished_parts(settings, storage_backend) == []
    assert Upload.objects.get(pk=upload["id"]).parts_discarded_at is not None


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_an_upload_whose_parts_vanished_from_the_bucket_says_so(storage_backend, as_fabricator, settings):
    import boto3

    content = big_step()
    upload = start(as_fabricator, make_part(), content).json()
    send(as_fabricator, upload, content, numbers={1})
    row = Upload.objects.get(pk=upload["id"])
    boto3.client(
        "s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).abort_multipart_upload(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=row.storage_key, UploadId=row.s3_upload_id)

    seen = as_fabricator.get(f"/api/uploads/{upload['id']}/").json()
    late = complete(as_fabricator, upload)

    assert (seen["status"], seen["parts"]) == ("failed", [])
    assert "gone" in seen["error"]
    assert late.status_code == 409


def test_a_revision_completed_by_a_lead_is_still_the_senders_upload(as_fabricator, as_lead):
    content = big_step()
    upload = started_and_sent(as_fabricator, make_part(), content)

    revision = complete(as_lead, upload).json()

    assert revision["uploaded_by"] == "bob"


def test_an_upload_past_its_expiry_cannot_be_completed_even_before_the_clean_up(as_fabricator):
    upload = started_and_sent(as_fabricator, make_part(), pdf_bytes(), filename="a.pdf")
    Upload.objects.filter(pk=upload["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = complete(as_fabricator, upload)

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert not Revision.objects.exists()


def test_uploads_still_open_before_their_expiry_are_left_alone(as_fabricator):
    upload = started_and_sent(as_fabricator, make_part(), pdf_bytes(), filename="a.pdf")

    assert uploads_expire() == 0
    assert complete(as_fabricator, upload).status_code == 201


# What starting an upload refuses


def test_a_file_over_the_limit_is_413_before_any_byte_is_sent(as_fabricator, settings):
    settings.MAX_UPLOAD_MB = 10

    response = start(as_fabricator, make_part(), big_step())

    assert response.status_code == 413
    assert "larger than the 10 MB limit" in response.json()["detail"]
    assert not Upload.objects.exists()


def test_an_empty_file_is_refused(as_fabricator):
    response = start(as_fabricator, make_part(), b"")

    assert response.status_code == 400
    assert response.json()["detail"] == "The file is empty (0 bytes)."


@pytest.mark.parametrize(
    "filename,fields,message",
    [
        ("chassis.igs", {}, "the allowed extensions are .step, .stp, .pdf and .dxf"),
        ("chassis.step", {"kind": "drawing"}, "A drawing must be a .pdf or .dxf file"),
    ],
)
def test_an_extension_that_does_not_fit_is_refused(as_fabricator, filename, fields, message):
    response = start(as_fabricator, make_part(), box_step(), filename, **fields)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Upload.objects.exists()


def test_a_malformed_sha256_is_refused(as_fabricator):
    response = start(as_fabricator, make_part(), box_step(), sha256="abc")

    assert response.status_code == 400
    assert response.json()["sha256"] == ["Must be 64 hexadecimal characters."]


def test_a_file_that_already_is_a_revision_of_the_part_is_409_naming_it(as_fabricator):
    part = make_part()
    content = pdf_bytes(3000)
    revision = complete(as_fabricator, started_and_sent(as_fabricator, part, content, filename="a.pdf")).json()

    response = start(as_fabricator, part, content, filename="again.pdf")

    assert response.status_code == 409
    assert response.json()["revision"] == revision["id"]
    assert "already revision D1" in response.json()["detail"]


# Who may do what


def test_a_viewer_may_not_start_an_upload(as_viewer):
    response = start(as_viewer, make_part(), box_step())

    assert response.status_code == 403
    assert not Upload.objects.exists()


def test_users_without_a_role_and_anonymous_users_may_not_start_an_upload(roleless, anonymous):
    from conftest import client_for

    assert start(client_for(roleless), make_part(), box_step()).status_code == 403
    assert start(anonymous, make_part(), box_step()).status_code == 401


def test_only_the_uploader_or_a_lead_may_see_complete_or_abort_an_upload(
    as_fabricator, as_other_fabricator, as_viewer, as_lead
):
    upload = started_and_sent(as_fabricator, make_part(), pdf_bytes(), filename="a.pdf")
    path = f"/api/uploads/{upload['id']}/"

    for outsider in (as_other_fabricator, as_viewer):
        assert outsider.get(path).status_code == 403
        assert outsider.post(f"{path}complete/").status_code == 403
        assert outsider.delete(path).status_code == 403
    assert as_fabricator.get(path).status_code == 200
    assert as_lead.get(path).status_code == 200
    assert as_lead.post(f"{path}complete/").status_code == 201


def test_a_lead_may_abort_anyones_upload(as_fabricator, as_lead):
    upload = start(as_fabricator, make_part(), box_step()).json()

    assert as_lead.delete(f"/api/uploads/{upload['id']}/").status_code == 204


def test_an_unknown_upload_is_404(as_lead):
    path = f"/api/uploads/{uuid.uuid4()}/"

    assert as_lead.get(path).status_code == 404
    assert as_lead.post(f"{path}complete/").status_code == 404
    assert as_lead.delete(path).status_code == 404
    assert as_lead.get("/api/uploads/not-a-uuid/").status_code == 404


def test_an_unknown_part_is_404(as_fabricator):
    response = as_fabricator.post("/api/parts/999999/uploads/", {"filename": "a.step", "size": 10}, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize("sent, stored", [
    ("../../d.step", "d.step"), ("a\r\nb.step", "ab.step"), ("brack\u202eet.step", "bracket.step"),
    ("line\u2028break.step", "linebreak.step"),
])
def test_a_direct_upload_stores_its_file_name_clean(as_fabricator, sent, stored):
    content = box_step()
    upload = started_and_sent(as_fabricator, make_part(), content, filename=sent)

    assert upload["filename"] == stored
    response = complete(as_fabricator, upload)
    assert response.status_code == 201, response.json()
    assert response.json()["filename"] == stored


def test_a_direct_upload_cut_short_is_refused_as_truncated_on_completion(as_fabricator):
    content = box_step()[:-40]
    upload = started_and_sent(as_fabricator, make_part(), content)

    response = complete(as_fabricator, upload)

    assert response.status_code == 400
    assert "truncated" in response.json()["file"][0]
    assert not Revision.objects.exists()
