import os

from celery import Celery
from celery.signals import celeryd_init

from partsite import broker  # noqa: F401 (makes the embedded broker's URL known to kombu)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partsite.settings")

app = Celery("partsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["consumer"].add("partsite.heartbeat:Heartbeat")
app.steps["consumer"].add("partsite.broker:ForgetDelivered")


@celeryd_init.connect
def _log_json_lines_from_the_start(**kwargs):
    """A worker's first words (Celery's warning when it runs as root) come before Celery sets up
    Django, and would be plain text among the JSON lines: Partsite's logging is set up first."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
