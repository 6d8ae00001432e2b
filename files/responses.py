"""Serving stored files: a 302 to a presigned link on S3, a stream with Range support on disk."""

import re

from django.http import HttpResponse, HttpResponseNotModified, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header, parse_etags

from files.models import PREVIEW_CONTENT_TYPE, ConversionStatus, Kind
from files.storage import download_url, is_s3, object_chunks
from partsite.errors import NotFound

SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stored_file_response(request, *, key, size, sha256, filename, content_type, as_attachment=True):
    if is_s3():
        return HttpResponseRedirect(download_url(key, filename=filename, content_type=content_type))
    etag = f'"{sha256}"'
    start, end = 0, size - 1
    ranged = _requested_range(request, size, etag)
    if ranged == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if ranged:
        start, end = ranged
    response = StreamingHttpResponse(
        object_chunks(key, start, end - start + 1), status=206 if ranged else 200, content_type=content_type
    )
    if ranged:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cache-Control"] = "private, no-transform"
    return response


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
            image = b"".join(object_chunks(revision.preview_key))
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


def _requested_range(request, size, etag):
    """(first, last) byte of a single satisfiable range, 'unsatisfiable', or None for the whole file.

    Several ranges, a malformed header, or an If-Range that no longer matches get the whole
    file, as RFC 9110 allows.
    """
    header = request.headers.get("Range", "")
    match = SINGLE_RANGE.match(header.replace(" ", ""))
    if not match or not any(match.groups()) or request.headers.get("If-Range", etag) != etag:
        return None
    first, last = match.groups()
    if not first:  # "bytes=-500": the last 500 bytes
        if int(last) == 0:
            return "unsatisfiable"
        return max(0, size - int(last)), size - 1
    first, last = int(first), min(int(last) if last else size - 1, size - 1)
    if first >= size:
        return "unsatisfiable"
    if last < first:
        return None
    return first, last
