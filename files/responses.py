"""Every file Partsite sends: a revision's bytes, its 3D model, a plate's DXF, a ZIP archive of revisions, a preview.

Downloads, 3D models and archives leave only through the functions here, and each passes
through `_served`, which records the file access (audit.services): a route that serves a file
calls one of these, so no route can forget the record. Before anything is served, each asks
files.scanning.check_servable of every revision it would send: a file that is not known to be
clean (infected, or with scanning on still pending, unscanned or unscannable) is a 409 naming
its state. The bytes themselves are the vault's business (Vault.download_response: the open file
with Range support, or a presigned link).
Previews are not recorded: a board of thumbnails would bury the real accesses. Nor is a large
model's coarse version, which the 3D view loads just before the full model, which is recorded.
"""

import re

from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import content_disposition_header, parse_etags

from audit.models import Access
from audit.services import archive_access_record, file_access_record
from files.models import DXF_CONTENT_TYPE, GLB_CONTENT_TYPE, PREVIEW_CONTENT_TYPE, ConversionStatus, Kind
from files.scanning import check_servable
from files.storage import vault
from partsite.errors import NotFound

ARCHIVE_CONTENT_TYPE = "application/zip"
RANGE_START = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-")


def revision_response(request, revision, *, inline=False):
    """The revision's exact bytes, as an attachment with its original name, or shown in the browser."""
    check_servable(revision)
    response = vault().download_response(
        request, key=revision.storage_key, size=revision.size, sha256=revision.sha256,
        filename=revision.filename, content_type=revision.content_type, inline=inline,
    )
    return _served(request, response, lambda: file_access_record(
        request=request, access=Access.DOWNLOAD, revision=revision,
    ))


def model_response(request, revision):
    """The GLB converted from a revision (ready, the caller has checked), for the browser's 3D view:
    its meshopt-compressed copy when it has one (files.compact), which the viewer decodes."""
    check_servable(revision)
    stem = revision.filename.rsplit(".", 1)[0]
    key, size, sha256 = revision.glb_key, revision.glb_size, revision.glb_sha256
    if revision.glb_compact_key:
        key, size, sha256 = revision.glb_compact_key, revision.glb_compact_size, revision.glb_compact_sha256
    response = vault().download_response(
        request, key=key, size=size, sha256=sha256,
        filename=f"{stem}.glb", content_type=GLB_CONTENT_TYPE, inline=True,
    )
    return _served(request, response, lambda: file_access_record(
        request=request, access=Access.MODEL, revision=revision,
    ))


def dxf_response(request, revision):
    """The DXF drawn from a plate's model (the caller has checked it has one), for the router or laser."""
    check_servable(revision)
    stem = revision.filename.rsplit(".", 1)[0]
    response = vault().download_response(
        request, key=revision.dxf_key, size=revision.dxf_size, sha256=revision.dxf_sha256,
        filename=f"{stem}.dxf", content_type=DXF_CONTENT_TYPE,
    )
    return _served(request, response, lambda: file_access_record(
        request=request, access=Access.DXF, revision=revision,
    ))


def coarse_model_response(request, revision):
    """A large model's coarse version (files.compact), drawn while the full model loads; not recorded."""
    check_servable(revision)
    if not revision.glb_coarse_key:
        raise NotFound(f"{revision.label} has no coarse model: only models over 1 MB have one.")
    stem = revision.filename.rsplit(".", 1)[0]
    return vault().download_response(
        request, key=revision.glb_coarse_key, size=revision.glb_coarse_size, sha256=revision.glb_coarse_sha256,
        filename=f"{stem}.coarse.glb", content_type=GLB_CONTENT_TYPE, inline=True,
    )


def archive_response(request, stream, *, filename, revisions):
    """A ZIP archive streamed as it is read from storage (`stream` knows its length), recorded as one access."""
    for revision in revisions:
        check_servable(revision)
    response = StreamingHttpResponse(stream, content_type=ARCHIVE_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    response["Content-Length"] = str(len(stream))
    return _served(request, response, lambda: archive_access_record(
        request=request, name=filename, revisions=revisions,
    ))


def _served(request, response, record):
    """The one way out for a file: `record()` writes its access when serving the response is a new one."""
    if _is_a_new_access(request, response):
        record()
    return response


def _is_a_new_access(request, response):
    """A HEAD fetches nothing, and nothing is served with an error. A download fetched in byte
    ranges counts once, by its piece that starts at the first byte: whether Partsite sends the
    range itself (206) or storage does, after a redirect, to the same Range header."""
    if request.method == "HEAD" or response.status_code >= 400:
        return False
    if response.status_code == 206:
        return response["Content-Range"].startswith("bytes 0-")
    if 300 <= response.status_code < 400:
        match = RANGE_START.match(request.headers.get("Range", ""))
        return match is None or match[1] in ("", "0")
    return True


def preview_response(request, revision):
    """The PNG itself, on either backend: it is small, and a presigned link, new each time, defeats caching.

    The preview's URL names the image (`?v=`), so a browser keeps that URL for a year; asked
    without it, or for an older image, it must revalidate with the ETag, which names the image too.
    """
    if not revision.has_preview:
        raise NotFound(_no_preview_reason(revision), conversion_status=revision.conversion_status,
                       preview_error=revision.preview_error)
    version = revision.preview_key.rsplit("/", 1)[-1].split(".", 1)[0]
    etag = f'"{version}"'
    cache_control = "private, max-age=31536000, immutable" if request.GET.get("v") == version else "private, no-cache"
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        try:
            image = b"".join(vault().chunks(revision.preview_key))
        except FileNotFoundError:
            raise NotFound(f"The preview of {revision.label} is missing from storage.") from None
        response = HttpResponse(image, content_type=PREVIEW_CONTENT_TYPE)
        stem = revision.filename.rsplit(".", 1)[0]
        response["Content-Disposition"] = content_disposition_header(False, f"{stem}.png")
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response


def _no_preview_reason(revision):
    if revision.kind != Kind.STEP:
        return f"{revision.label} is a drawing; only STEP revisions have a preview."
    status = revision.conversion_status
    if status in (ConversionStatus.PENDING, ConversionStatus.RUNNING):
        return f"{revision.label} has no preview yet: its 3D model is {ConversionStatus(status).label.lower()}."
    if status == ConversionStatus.FAILED:
        return f"{revision.label} has no preview: its conversion to a 3D model failed. {revision.conversion_error}".strip()
    if revision.preview_error:
        return f"No preview of {revision.label} could be drawn: {revision.preview_error}"
    return f"{revision.label} has no preview yet; `manage.py render_previews --missing` draws it."
