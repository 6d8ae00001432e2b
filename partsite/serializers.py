from rest_framework import serializers


class Username(serializers.SlugRelatedField):
    """A user, shown by username."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="username", read_only=True, **kwargs)
