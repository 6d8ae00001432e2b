from rest_framework import serializers


class Username(serializers.SlugRelatedField):
    """A user, shown by username."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", read_only=True, **kwargs)


# For serializers that write their JSON out by hand (the lists' fast paths).
_DATETIME = serializers.DateTimeField(read_only=True)


def datetime_json(value):
    """A datetime as a DateTimeField shows it: ISO 8601 in the current time zone, or None."""
    return _DATETIME.to_representation(value)


def username_json(user):
    """A user as Username shows it."""
    return None if user is None else user.username
