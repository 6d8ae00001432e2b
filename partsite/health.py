"""Liveness and readiness probes for load balancers and orchestrators."""

import logging

from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from partsite.celery import app as celery_app

logger = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 3


@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _storage():
    default_storage.exists("partsite-readiness-probe")


def _broker():
    # One bounded attempt: kombu's retry back-off would sleep for seconds and outlast
    # the prober's own timeout, so the caller would never see which dependency failed.
    with celery_app.connection_for_write(connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=0)


CHECKS = {"database": _database, "storage": _storage, "broker": _broker}


@require_GET
def ready(request):
    """200 when every dependency answers; 503 naming the ones that do not."""
    failing = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # a probe reports every failure, whatever its kind
            logger.warning("readiness check %s failed: %s", name, error)
            failing[name] = f"{type(error).__name__}: {error}"[:300]
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
