from django.core.management.base import BaseCommand, CommandError

from partsite.errors import DomainError
from partsite.roles import Role
from partsite.services import user_create

NO_ROLE = "none"


class Command(BaseCommand):
    help = "Create a user with a role (lead, fabricator or viewer), or with none for a lead to give later."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role", required=True, choices=[*Role.values, NO_ROLE],
            help=f"{NO_ROLE}: the user may sign in but do nothing until a lead gives them a role in the admin.",
        )
        parser.add_argument("--password", help="Without it the user can only use API keys.")
        parser.add_argument("--email", default="")

    def handle(self, username, role, password, email, **options):
        try:
            user_create(username=username, role=None if role == NO_ROLE else role, password=password, email=email)
        except DomainError as error:
            raise CommandError(error.message) from error
        if role == NO_ROLE:
            self.stdout.write(f"Created {username}, with no role yet: a lead gives one in the admin (Users).")
        else:
            self.stdout.write(f"Created {role} {username}.")
