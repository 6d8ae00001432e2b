"""Structured logs: one JSON object per line, on the console and, when PARTSITE_LOG_FILE is set,
in a size-rotated file; one line per request and one per background task.

What is never logged: query strings (they can carry signatures or a careless client's key),
headers, bodies (passwords) or the request object. Anything shaped like an API key that still
reaches a line, in a message or a traceback, is blanked by the formatter.
"""

import logging
import logging.config
import re
import time

from celery.signals import task_failure, task_postrun, task_prerun
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from partsite.addresses import client_address

# The shape of a Partsite API key (partsite.models.ApiKey.generate).
KEY_PATTERN = re.compile(r"ps_[0-9a-f]{16}\.[A-Za-z0-9_-]+")
REDACTED = "[redacted key]"

request_log = logging.getLogger("partsite.request")
task_log = logging.getLogger("partsite.task")


def logging_config(*, level="INFO", file=None, file_max_mb=10, file_backups=5):
    """Django's LOGGING: JSON lines on the console, and in `file` (rotated at `file_max_mb`) when given."""
    handlers = {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["one_line_per_request"]}}
    if file:
        # Web workers and the Celery worker share the file; this handler rotates it under a lock.
        handlers["file"] = {
            "class": "concurrent_log_handler.ConcurrentRotatingFileHandler",
            "filename": str(file),
            "maxBytes": file_max_mb * 1024 * 1024,
            "backupCount": file_backups,
            "encoding": "utf-8",
            "formatter": "json",
            "filters": ["one_line_per_request"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "partsite.logs.PartsiteJsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "filters": {"one_line_per_request": {"()": "partsite.logs.OneLinePerRequest"}},
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # SQLAlchemy notes at INFO each time a forked process leaves its parent's connection
            # to the embedded broker alone, which is routine (partsite/broker_transport.py).
            "partsite.broker_transport": {"level": "WARNING"},
        },
    }


def configure(config):
    """Django's LOGGING_CONFIG: the dictionary above, and Python's warnings (Celery's warning when
    its worker runs as root, a library's deprecation) as log lines too, not as raw text."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class OneLinePerRequest(logging.Filter):
    """A refused request (4xx) is one line, RequestLogMiddleware's: Django's own warning about it
    ("Unauthorized: /api/parts/") is not written. A server error (5xx) still is, with its traceback."""

    def filter(self, record):
        return not (record.name == "django.request" and getattr(record, "status_code", 500) < 500)


class PartsiteJsonFormatter(JsonFormatter):
    """JSON lines without the request object Django attaches (its repr has the query string), and no keys."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time"])
        super().__init__(*args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging's name)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"

    def serialize_log_record(self, log_data):
        return KEY_PATTERN.sub(REDACTED, super().serialize_log_record(log_data))


class RequestLogMiddleware:
    """One line per request: method, path (never the query string), view, status, user, duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        status = response.status_code
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        authenticated = user is not None and user.is_authenticated
        request_log.info(
            "%s %s %s", request.method, request.path, status,
            extra={
                "method": request.method,
                "path": request.path,
                "view": match.view_name if match else None,
                "status": status,
                "outcome": "ok" if status < 400 else "refused" if status < 500 else "error",
                "user": user.get_username() if authenticated else None,
                # DRF copies its authenticator's `auth` onto the request: the ApiKey row for key requests.
                "auth": ("api_key" if getattr(request, "auth", None) is not None else "session")
                if authenticated else None,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "client": client_address(request),
            },
        )
        return response


# Background tasks: one line when each ends, with its outcome. Task arguments are ids, but they
# are left out all the same: a line needs no more than the task, its id and how it went.
_started = {}
_errors = {}


@task_prerun.connect(dispatch_uid="partsite.logs.task_prerun")
def _task_started(task_id=None, **kwargs):
    _started[task_id] = time.monotonic()


@task_failure.connect(dispatch_uid="partsite.logs.task_failure")
def _task_failed(task_id=None, exception=None, **kwargs):
    _errors[task_id] = f"{type(exception).__name__}: {exception}"


@task_postrun.connect(dispatch_uid="partsite.logs.task_postrun")
def _task_ended(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    error = _errors.pop(task_id, None)
    outcome = (state or "unknown").lower()
    task_name = getattr(task, "name", None)
    (task_log.error if error else task_log.info)(
        "task %s %s", task_name, outcome,
        extra={
            "task": task_name,
            "task_id": task_id,
            "outcome": outcome,
            "error": error,
            "duration_ms": round((time.monotonic() - started) * 1000, 1) if started is not None else None,
        },
    )
