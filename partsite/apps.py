from django.apps import AppConfig
from django.db.models.signals import post_migrate

from partsite.celery import app as celery_app


class PartsiteConfig(AppConfig):
    name = "partsite"
    verbose_name = "Accounts and API keys"

    def ready(self):
        from partsite.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="partsite.ensure_role_groups")
        # Every process knows every task by name, not only the worker: the services queue files'
        # tasks (files.queueing) and an event's dispatch (partsite.events) by name, since the
        # tasks' modules import the services.
        celery_app.autodiscover_tasks(force=True)
