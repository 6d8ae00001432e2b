"""What a client sees when something Partsite depends on is down: 503, naming it, with Retry-After.

Django hands every exception that nothing else caught, from a view or a middleware, to
`handler500` (partsite/urls.py), still inside its `except` block: `server_error` looks at it
there. A failure of infrastructure becomes a 503, as JSON under /api/ and as a page elsewhere;
anything else stays the 500 of a bug.
"""

import errno
import sys

import botocore.exceptions
import kombu.exceptions
import redis.exceptions
from django import db
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

# Long enough for a restarted service to come back, short enough for a user to wait.
RETRY_AFTER_SECONDS = 30

NOT_ANSWERING = {
    "database": "The database is not answering.",
    "storage": "File storage is not answering.",
    "cache": "The cache is not answering.",
    "broker": "The task queue is not answering.",
}
DISK_ERRORS = {
    errno.ENOSPC: "The server's disk is full.",
    errno.EDQUOT: "The server's disk quota is used up.",
    errno.EROFS: "The server's disk is read-only.",
}


def unavailable(error):
    """(the dependency that `error`, or an error it was raised from, says is down, and a
    sentence saying so), or None when it is not an outage."""
    while error is not None:
        dependency = _dependency(error)
        if dependency:
            return dependency, NOT_ANSWERING[dependency]
        if isinstance(error, OSError) and error.errno in DISK_ERRORS:
            return "disk", DISK_ERRORS[error.errno]
        error = error.__cause__ or error.__context__
    return None


def _dependency(error):
    if isinstance(error, (db.OperationalError, db.InterfaceError)):
        return "database"
    if isinstance(error, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)):
        return "storage"
    if isinstance(error, botocore.exceptions.ClientError) and _status(error) >= 500:
        return "storage"
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "cache"
    if isinstance(error, kombu.exceptions.OperationalError):
        return "broker"
    return None


def _status(error):
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def server_error(request):
    """Django's handler500."""
    outage = unavailable(sys.exception())
    if outage is None:
        return defaults.server_error(request)
    dependency, sentence = outage
    detail = f"{sentence} Try again in a minute."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail, "unavailable": dependency}, status=503)
    else:
        # Rendered without the request: the page's context (the user, their role) needs the database.
        response = HttpResponse(render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
