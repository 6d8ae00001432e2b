from django.core.management.base import BaseCommand, CommandError

from partsite.errors import DomainError
from partsite.roles import Role
from partsite.services import user_create


class Command(BaseCommand):
    help = "Create a user with a role (lead, fabricator or viewer)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Without it the user can only use API keys.")
        parser.add_argument("--email", default="")

    def handle(self, username, role, password, email, **options):
        try:
            user_create(username=username, role=role, password=password, email=email)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Created {role} {username}.")
