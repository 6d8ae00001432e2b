from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PartsiteConfig(AppConfig):
    name = "partsite"
    verbose_name = "Accounts and API keys"

    def ready(self):
        from partsite.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="partsite.ensure_role_groups")
