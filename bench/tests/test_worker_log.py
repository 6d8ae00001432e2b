"""The benchmark learns that a task ended from Celery's own log line, in Partsite's JSON logs too."""

import json
import logging

from celery.app import trace

from bench.servers import TASK_ENDED
from partsite.logs import PartsiteJsonFormatter


def a_line(template, values, logger="celery.app.trace"):
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, template, values, None)
    return PartsiteJsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)


def test_a_task_that_returned_is_seen_with_its_seconds():
    line = a_line(trace.LOG_SUCCESS, {"name": "files.tasks.convert_revision", "id": "4f1c-9a", "runtime": 0.25,
                                      "return_value": None})
    assert json.loads(line)["message"].startswith("Task files.tasks.convert_revision[4f1c-9a] succeeded")
    found = TASK_ENDED.search(line)
    assert (found["name"], float(found["seconds"])) == ("files.tasks.convert_revision", 0.25)


def test_a_task_that_raised_is_seen_too_without_seconds():
    line = a_line(trace.LOG_FAILURE, {"name": "files.tasks.render_preview", "id": "77-ab",
                                      "description": "raised unexpected", "exc": "OSError('disk full')"})
    found = TASK_ENDED.search(line)
    assert (found["name"], found["seconds"]) == ("files.tasks.render_preview", None)


def test_partsites_own_line_for_the_same_task_is_not_counted_twice():
    line = a_line("task %s %s", ("files.tasks.convert_revision", "success"), logger="partsite.task")
    assert "files.tasks.convert_revision success" in line
    assert TASK_ENDED.search(line) is None
