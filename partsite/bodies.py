"""Request bodies a view never sees: one too large for memory, one that is not UTF-8, JSON nested
past what the parser can follow. Each is refused with a 4xx that names the problem (JSON on the
API, text on the pages) before anything reads it as text, so nothing is stored garbled.

File uploads (multipart) and the direct-upload parts (raw bytes) are not read here: they
stream through their own handlers and limits (files.upload_handler, files.limits).
"""

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from rest_framework import parsers
from rest_framework.exceptions import ParseError

FORM = "application/x-www-form-urlencoded"


def _is_json(content_type):
    return content_type == "application/json" or content_type.endswith("+json")


def _refusal(request, status, message):
    if request.path.startswith("/api/") or _is_json(request.content_type or ""):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestBodyMiddleware:
    """Form and JSON bodies: within DATA_UPLOAD_MAX_MEMORY_SIZE (else 413) and UTF-8 (else 400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Before the CSRF check reads a form; not for a view that streams its body (@raw_body)."""
        content_type = request.content_type or ""
        if getattr(view_func, "reads_raw_body", False) or request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        if content_type == FORM or _is_json(content_type):
            return self._refusal(request, content_type)
        return None

    def _refusal(self, request, content_type):
        try:
            body = request.body
        except RequestDataTooBig:
            return _refusal(
                request, 413, f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            )
        # A form's text is percent-encoded: the bytes it stands for must be UTF-8 (or the charset the
        # request names), not only the body.
        text = unquote_to_bytes(body.replace(b"+", b" ")) if content_type == FORM else body
        charset = request.content_params.get("charset") or "utf-8"
        try:
            text.decode(charset)
        except LookupError:
            return _refusal(request, 400, f"The request names an unknown charset: {charset[:40]!r}.")
        except UnicodeDecodeError as error:
            name = "UTF-8" if charset.lower().replace("_", "-") in ("utf-8", "utf8") else charset[:40]
            return _refusal(
                request, 400,
                f"The request body is not valid {name}: byte 0x{text[error.start]:02x} at position {error.start}.",
            )
        return None


def raw_body(view):
    """Mark a view that streams its request body itself (whatever its Content-Type says): the
    body checks above leave it alone."""
    view.reads_raw_body = True
    return view


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested too deeply to parse instead of failing with a RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the JSON is nested too deeply.") from None
