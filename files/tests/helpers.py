"""Talking to the files API the way a client does, on either storage backend."""

import urllib.request

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from files.conversion import revision_convert
from files.storage import vault


def post_file(client, part, content, filename="bracket.step", **fields):
    return client.post(
        f"/api/parts/{part.pk}/revisions/", {"file": SimpleUploadedFile(filename, content), **fields},
        format="multipart",
    )


def convert_now(revision_id):
    """Run a conversion as the worker does, then the preview task it queues when it commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        revision = revision_convert(revision_id)
    if revision is not None:
        revision.refresh_from_db()
    return revision


def fetch(client, url, **headers):
    """GET a download URL and follow a presigned redirect to storage: (status, headers, body)."""
    response = client.get(url, **headers)
    if response.status_code == 302:
        request = urllib.request.Request(response["Location"], headers=_plain(headers))
        with urllib.request.urlopen(request, timeout=30) as stored:
            return stored.status, dict(stored.headers), stored.read()
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, dict(response.headers), body


def _plain(headers):
    """Test-client style headers (HTTP_RANGE=...) as HTTP ones (Range: ...)."""
    return {name.removeprefix("HTTP_").replace("_", "-").title(): value for name, value in headers.items()}


def stored_keys():
    return sorted(vault().keys())


def send_part(client, part, data):
    """PUT one part of a direct upload to its URL, the way a client would; returns the HTTP status.

    On local disk the URL is a signed Partsite one, answered by the test client; on S3 it is a
    presigned URL that goes straight to storage.
    """
    if part["url"].startswith("http://testserver/"):
        path = part["url"].removeprefix("http://testserver")
        return client.generic("PUT", path, data, content_type="application/octet-stream").status_code
    # moto reads a form-encoded body as form fields, so say what it is.
    request = urllib.request.Request(
        part["url"], data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as stored:
            return stored.status
    except urllib.error.HTTPError as refused:
        return refused.code


def approve_by_name(client, part):
    """Approve a part naming its latest STEP revision: without a worker nothing is converted, and an
    unconverted model is approved only when named (parts.services)."""
    latest = part.revisions.latest_step()
    return client.post(f"/api/parts/{part.pk}/approve/", {"revision": latest.pk} if latest else {}, format="json")
