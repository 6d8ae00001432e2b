from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from partsite.errors import Conflict, Invalid
from partsite.models import ApiKey, hash_key
from partsite.roles import Role, role_group

User = get_user_model()


def _check_role(role):
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}; choose one of: {', '.join(Role.values)}.", field="role")


@transaction.atomic
def user_create(*, username, role, password=None, email=""):
    """A user in one role, or in none (role=None: they may sign in and do nothing until a lead
    gives them one). Leads are staff so they can use the admin."""
    if role is not None:
        _check_role(role)
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise Invalid(f"{username!r} is not a valid username. {' '.join(error.messages)}", field="username") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"A user named {username!r} already exists.")
    user = User(username=username, email=email, is_staff=role == Role.LEAD)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise Invalid(" ".join(error.messages), field="password") from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if role is not None:
        user.groups.add(role_group(role))
    return user


def user_set_role(*, user, role):
    """Give the user one role, or none (role=None); leads (and superusers) are staff, so they can use the admin."""
    if role is not None:
        _check_role(role)
    with transaction.atomic():
        user.groups.remove(*user.groups.filter(name__in=Role.values))
        if role is not None:
            user.groups.add(role_group(role))
        user.is_staff = role == Role.LEAD or user.is_superuser
        user.save(update_fields=["is_staff"])
    # role_of() caches the role on the user object; this one is now out of date.
    user.__dict__.pop("_partsite_role", None)


def apikey_create(*, user, name=""):
    """Returns the new row and the key itself, which is never stored or shown again."""
    lookup, key = ApiKey.generate()
    api_key = ApiKey.objects.create(user=user, name=name, lookup=lookup, hashed_key=hash_key(key))
    return api_key, key


def apikey_revoke(*, api_key):
    # Saved, not updated in bulk, so that the change log records who revoked it.
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    api_key.refresh_from_db()
