import hashlib
import hmac
import secrets

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "ps_"


def hash_key(key):
    # Keys are 256 random bits, so a plain SHA-256 is as strong as a slow hash here.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiKey(models.Model):
    """A user's API key. Only its hash is kept; the key is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    lookup = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user.username}: {KEY_PREFIX}{self.lookup}… {self.name}".strip()

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @staticmethod
    def generate():
        """A new (lookup, key) pair; the lookup part lets us find the row without the secret."""
        lookup = secrets.token_hex(8)
        return lookup, f"{KEY_PREFIX}{lookup}.{secrets.token_urlsafe(32)}"

    @staticmethod
    def parse_lookup(key):
        if not key.startswith(KEY_PREFIX) or "." not in key:
            return None
        return key[len(KEY_PREFIX) :].split(".", 1)[0]

    def matches(self, key):
        return hmac.compare_digest(self.hashed_key, hash_key(key))


# The hash stays out of the change log; the lookup is the key's public name.
auditlog.register(ApiKey, exclude_fields=["hashed_key", "last_used_at"])
