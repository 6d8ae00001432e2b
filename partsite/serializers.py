from django.utils import timezone
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """How the API refuses a request (partsite.errors): a message that says why."""

    detail = serializers.CharField()


class Username(serializers.SlugRelatedField):
    """A user, shown by username; null when there is none (or the user was deleted: people are SET_NULL)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", "A username, or null.")
        super().__init__(slug_field="username", read_only=True, **kwargs)


# For the serializers that write their JSON out by hand (the lists' fast paths).


def datetime_field():
    """A DateTimeField that shows datetimes as any other does, with the current time zone looked
    up once rather than for each value (half of its cost). Make one per request."""
    return serializers.DateTimeField(read_only=True, default_timezone=timezone.get_current_timezone())


def username_json(user):
    """A user as Username shows it."""
    return None if user is None else user.username
