"""Celery tasks: thin shells around the services. Each takes ids and is safe to run twice."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from files import cleanup, conversion, onshape_import, scanning, services

# A database that is briefly down (restarting, failing over) is waited for, not given up on.
DATABASE_DOWN = {
    "autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 5, "retry_backoff_max": 60,
    "max_retries": 8,
}


@shared_task(ignore_result=True, **DATABASE_DOWN)
def convert_revision(revision_id):
    conversion.revision_convert(revision_id)


@shared_task(ignore_result=True)
def render_preview(revision_id):
    conversion.revision_render_preview(revision_id, missing_only=True)


@shared_task(ignore_result=True)
def scan_revision(revision_id):
    scanning.revision_scan(revision_id)


@shared_task(ignore_result=True)
def import_from_onshape(import_id):
    """One step of an import; while Onshape is still exporting, the task comes back when the next step is due."""
    wait = onshape_import.onshape_import_step(import_id)
    if wait is not None:
        import_from_onshape.apply_async((import_id,), countdown=wait)


@shared_task(ignore_result=True, **DATABASE_DOWN)
def requeue_stalled_conversions():
    """Conversions, previews, scans and Onshape imports whose message (or worker) was lost start again."""
    return (
        conversion.conversions_requeue_stalled() + conversion.previews_requeue_missing() + scanning.scans_requeue()
        + onshape_import.onshape_imports_requeue()
    )


@shared_task(ignore_result=True, **DATABASE_DOWN)
def expire_uploads():
    return services.uploads_expire()


@shared_task(ignore_result=True, **DATABASE_DOWN)
def remove_storage_leftovers():
    """Orphan objects, parts no upload owns and stale temp files, past the grace period."""
    cleanup.temp_folders_remove_stale()
    return len(cleanup.leftovers_remove())
