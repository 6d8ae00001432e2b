"""Queueing the files' background work: conversions, previews, scans and Onshape imports, by task name.

files.tasks calls the services and the conversion, so they cannot import it back (the
import contract in .importlinter forbids the cycle). They queue its tasks through the
Celery app by name instead, which every process knows: partsite.apps discovers the tasks
once Django is ready, so the task's own routing and eager mode apply as for `.delay()`.
"""

from partsite.celery import app

CONVERT = "files.tasks.convert_revision"
DRAW_PREVIEW = "files.tasks.render_preview"
SCAN = "files.tasks.scan_revision"
IMPORT = "files.tasks.import_from_onshape"


def conversion_queue(revision_id, countdown=None):
    if countdown is None:
        app.tasks[CONVERT].delay(revision_id)
    else:
        app.tasks[CONVERT].apply_async((revision_id,), countdown=countdown)


def preview_queue(revision_id):
    app.tasks[DRAW_PREVIEW].delay(revision_id)


def scan_queue(revision_id):
    app.tasks[SCAN].delay(revision_id)


def import_queue(import_id, countdown=None):
    app.tasks[IMPORT].apply_async((import_id,), countdown=countdown)
