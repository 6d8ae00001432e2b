import hashlib
import hmac
import secrets
import uuid

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


class EventType(models.TextChoices):
    """What happened, as other systems (webhooks) and people (notifications) hear of it."""

    PART_CREATED = "part.created", "A part was created"
    PART_UPDATED = "part.updated", "A part's fields were edited"
    PART_MOVED = "part.moved", "A part moved in its lifecycle"
    REVISION_UPLOADED = "revision.uploaded", "A revision was uploaded"
    REVISION_CONVERTED = "revision.converted", "A revision's 3D model is ready"
    REVISION_CONVERSION_FAILED = "revision.conversion_failed", "A revision's conversion failed"
    REVISION_DELETED = "revision.deleted", "A revision was deleted"
    REVISION_INFECTED = "revision.infected", "An upload was found infected and quarantined"


class Event(models.Model):
    """One thing that happened, to be told to people and other systems: the outbox.

    A service writes it in the same transaction as the change it describes (partsite.events),
    so an event exists exactly when its change committed. `data` is what was true then (the
    part, the revision, who did it, the reason), so it reads the same whenever it is told.
    `dispatched_at` is set once its notifications and webhook deliveries exist.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Plain ids, not foreign keys: the event outlives the part and revision it tells of.
    part_id = models.BigIntegerField(null=True, blank=True)
    revision_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dispatched_at", "created_at"])]

    def __str__(self):
        return f"{self.type} #{self.pk}"
