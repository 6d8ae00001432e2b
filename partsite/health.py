"""Liveness and readiness probes for load balancers and orchestrators."""

import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from files.storage import vault
from partsite import heartbeat
from partsite.celery import app as celery_app

logger = logging.getLogger(__name__)
# Each check gets this long; one that has not answered by then is reported as not answering,
# so a hung dependency never makes the probe itself time out.
PROBE_TIMEOUT_SECONDS = 3


@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # the check's own thread ends here; its connection must not outlive it


def _storage():
    vault().probe()


def _broker():
    # One bounded attempt: kombu's retry back-off would sleep for seconds and outlast
    # the prober's own timeout, so the caller would never see which dependency failed.
    with celery_app.connection_for_write(connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=0)
        # A round trip: connecting alone reads nothing from a broker kept in a file.
        conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE)


def _cache():
    cache.get("partsite-readiness-probe")


def _disk():
    """The data dir (the embedded database and broker, the secret key) and its tmp (uploads are
    spooled there, conversions work there) must be there and take a file."""
    for folder in (settings.DATA_DIR, settings.FILE_UPLOAD_TEMP_DIR):
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder} is missing")
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"ready")
            probe.flush()


def _worker():
    silent = heartbeat.silent_queues()
    if silent:
        raise RuntimeError("no worker consumes " + ", ".join(
            f"the {queue} queue" + ("" if seconds is None else f" (last heard {seconds} s ago)")
            for queue, seconds in silent.items()
        ))


CHECKS = {
    "database": _database, "storage": _storage, "broker": _broker, "cache": _cache, "disk": _disk,
    "worker": _worker,
}


@require_GET
def ready(request):
    """200 when every dependency answers; 503 naming the ones that do not.

    The checks run side by side, each on a thread of its own, and the answer comes after at
    most PROBE_TIMEOUT_SECONDS: a hung database or storage is named, not waited for.
    """
    checking = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readiness")
    futures = {name: checking.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=PROBE_TIMEOUT_SECONDS)
    checking.shutdown(wait=False)
    failing = {}
    for name, future in futures.items():
        if not future.done():
            failing[name] = f"no answer within {PROBE_TIMEOUT_SECONDS} s"
        elif error := future.exception():
            failing[name] = f"{type(error).__name__}: {error}"[:300]
    for name, reason in failing.items():
        logger.warning("readiness check %s failed: %s", name, reason)
    if failing:
        return JsonResponse(
            {"status": "unavailable", "detail": f"Not answering: {', '.join(failing)}.", "failing": failing},
            status=503,
        )
    return JsonResponse({"status": "ready"})


class ProbeMiddleware:
    """Answers /health/ and /ready/ before host validation and the HTTPS redirect.

    Probes reach a process by its own address over plain HTTP (a container's healthcheck
    asks http://127.0.0.1:8000/health/, Kubernetes asks the pod's IP), which ALLOWED_HOSTS
    and SECURE_SSL_REDIRECT would refuse. The answers depend on no host name.
    """

    PROBES = {"/health/": health, "/ready/": ready}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        return probe(request)
