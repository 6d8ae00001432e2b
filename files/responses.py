"""Serving stored files: the vault's download response, and the previews' PNGs."""

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import content_disposition_header, parse_etags

from files.models import PREVIEW_CONTENT_TYPE, ConversionStatus, Kind
from files.storage import vault
from partsite.errors import NotFound


def stored_file_response(request, *, key, size, sha256, filename, content_type, as_attachment=True):
    return vault().download_response(
        request, key=key, size=size, sha256=sha256, filename=filename, content_type=content_type,
        inline=not as_attachment,
    )


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
