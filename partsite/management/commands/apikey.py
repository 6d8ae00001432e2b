from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from partsite.models import ApiKey
from partsite.services import apikey_create, apikey_revoke


class Command(BaseCommand):
    help = "Create, list and revoke API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="Create a key; it is printed once, as the last line.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the key is for.")
        listing = sub.add_parser("list", help="List keys, without the secret part.")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke a key by its id.")
        revoke.add_argument("id", type=int)

    def handle(self, verb, **options):
        getattr(self, f"_{verb}")(**options)

    def _create(self, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        api_key, key = apikey_create(user=user, name=name)
        self.stdout.write(f"Created API key {api_key.pk} for {username}. Store it now; it is not shown again:")
        self.stdout.write(key)

    def _list(self, username=None, **options):
        keys = ApiKey.objects.select_related("user").order_by("user__username", "created_at")
        if username:
            keys = keys.filter(user__username=username)
        if not keys:
            self.stdout.write(f"No API keys{f' for {username}' if username else ''}.")
        for api_key in keys:
            state = f"revoked {api_key.revoked_at:%Y-%m-%d %H:%M}" if api_key.is_revoked else "active"
            used = f"{api_key.last_used_at:%Y-%m-%d %H:%M}" if api_key.last_used_at else "never"
            self.stdout.write(
                f"{api_key.pk:>5}  {api_key.user.username:<20} ps_{api_key.lookup}…  {state:<24} "
                f"last used {used}  {api_key.name}"
            )

    def _revoke(self, id, **options):
        api_key = ApiKey.objects.filter(pk=id).first()
        if api_key is None:
            raise CommandError(f"No API key with id {id}.")
        if api_key.is_revoked:
            self.stdout.write(
                f"API key {id} of {api_key.user.username} was already revoked on {api_key.revoked_at:%Y-%m-%d %H:%M}."
            )
            return
        apikey_revoke(api_key=api_key)
        self.stdout.write(f"Revoked API key {id} of {api_key.user.username}.")
