"""Serving stored files: a 302 to a presigned link on S3, a stream with Range support on disk."""

import re

from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

from files.storage import download_url, is_s3, object_chunks

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
