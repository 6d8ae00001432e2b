"""Celery tasks: thin shells around the services. Each takes ids and is safe to run twice."""

from celery import shared_task

from files import conversion, services


@shared_task(ignore_result=True)
def convert_revision(revision_id):
    conversion.revision_convert(revision_id)


@shared_task(ignore_result=True)
def render_preview(revision_id):
    conversion.revision_render_preview(revision_id, missing_only=True)


@shared_task(ignore_result=True)
def requeue_stalled_conversions():
    return conversion.conversions_requeue_stalled() + conversion.previews_requeue_missing()


@shared_task(ignore_result=True)
def expire_uploads():
    return services.uploads_expire()
