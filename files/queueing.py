"""Queueing the files' background work: conversions and previews, by task name.

files.tasks calls the services and the conversion, so they cannot import it back (the
import contract in .importlinter forbids the cycle). They queue its tasks through the
Celery app by name instead, which every process knows: partsite.apps discovers the tasks
once Django is ready, so the task's own routing and eager mode apply as for `.delay()`.
"""

from partsite.celery import app

CONVERT = "files.tasks.convert_revision"
DRAW_PREVIEW = "files.tasks.render_preview"


def conversion_queue(revision_id):
    app.tasks[CONVERT].delay(revision_id)


def preview_queue(revision_id):
    app.tasks[DRAW_PREVIEW].delay(revision_id)
