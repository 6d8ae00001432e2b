"""Serving stored files: a 302 to a presigned link on S3, the open file with Range support on disk.

On disk the response is a FileResponse over the open file (or over the requested range of
it), so a WSGI server with a `wsgi.file_wrapper` (gunicorn) hands the bytes to the kernel
with sendfile() instead of passing them through Python; elsewhere it is read in chunks.
"""

import os
import re

from django.http import FileResponse, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.utils.http import content_disposition_header, parse_etags

from files.models import PREVIEW_CONTENT_TYPE, ConversionStatus, Kind
from files.storage import CHUNK_BYTES, download_url, is_s3, object_chunks, object_open
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
    try:
        stored = object_open(key)
    except FileNotFoundError:
        raise NotFound(f"{filename} is missing from storage.") from None
    if ranged:
        stored.seek(start)
        stored = FileRange(stored, end - start + 1)
    response = FileResponse(stored, status=206 if ranged else 200, content_type=content_type)
    response.block_size = CHUNK_BYTES  # when nothing sendfile()s it: the test client, runserver
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


class FileRange:
    """`length` bytes of an open file from where it stands: read() stops after them.

    fileno() is the file's own, so gunicorn's sendfile() sends them from the file's position
    (the response's Content-Length says how many).
    """

    def __init__(self, stored, length):
        self._stored, self._left = stored, length
        self.mode = "rb"

    def read(self, size=-1):
        size = self._left if size is None or size < 0 else min(size, self._left)
        chunk = self._stored.read(size) if size else b""
        self._left -= len(chunk)
        return chunk

    def fileno(self):
        return self._stored.fileno()

    def seekable(self):  # so FileResponse does not read it through to learn its length
        return False

    def seek(self, offset, whence=os.SEEK_SET):  # socket.sendfile() may, to where it already is
        return self._stored.seek(offset, whence)

    def close(self):
        self._stored.close()


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
