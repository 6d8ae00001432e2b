"""The access record: who fetched which file, who signed in (or failed to), and which API keys
were refused. Changes to parts, revisions, users, groups and API keys are in django-auditlog.

Both tables are records: nothing in Partsite changes or deletes a row once written.
"""

from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class Access(models.TextChoices):
    DOWNLOAD = "download", "Downloaded the file"
    MODEL = "model", "Viewed the 3D model"
    ARCHIVE = "archive", "Downloaded in a ZIP archive"
    DXF = "dxf", "Downloaded the plate's DXF"


class FileAccess(models.Model):
    """One download or 3D preview of a revision, or one ZIP archive of many. Kept when they are deleted.

    A download or a 3D view names its `revision` and `part`; an archive names every revision
    it held in `revisions` (and neither of the others), so a ZIP of a thousand files is one
    access, which each part's history shows with its own files.
    """

    access = models.CharField(max_length=8, choices=Access.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revision = models.ForeignKey("files.Revision", null=True, on_delete=models.SET_NULL, related_name="accesses")
    part = models.ForeignKey("parts.Part", null=True, on_delete=models.SET_NULL, related_name="+")
    revisions = models.ManyToManyField("files.Revision", blank=True, related_name="archive_accesses")
    # What was fetched, in words that survive the rows above: "P-00012 R3 bracket.step (sha256 ...)",
    # or for an archive its name and as many of its files as fit.
    what = models.CharField(max_length=400)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "file access"
        verbose_name_plural = "file accesses"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.access} {self.what}"


class SignIn(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Failed to sign in"
    KEY_REFUSED = "key_refused", "API key refused"


class AuthEvent(models.Model):
    """A sign-in on any login form, a failed one, or a refused API key. Never holds a password or a key."""

    event = models.CharField(max_length=12, choices=SignIn.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The name given (for a failed sign-in, possibly no one's) or the key's owner; survives the user row.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    # Why, in words: "wrong username or password at /admin/login/", "revoked key ps_1a2b3c4d5e6f7a8b".
    detail = models.CharField(max_length=400)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "sign-in event"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '?'} {self.event}"


# Secrets never enter the change log: password hashes and key hashes are left out, and so is
# last_login, which every sign-in would otherwise turn into a change (AuthEvent records those).
auditlog.register(get_user_model(), exclude_fields=["password", "last_login"], m2m_fields={"groups"})
auditlog.register(Group, m2m_fields={"permissions"})


# --- Telling people: notifications ------------------------------------------------------------


class NotificationKind(models.TextChoices):
    """What a notification is about. Each kind may also come by email, as each person chooses."""

    ASSIGNED = "assigned", "A part was assigned to you"
    APPROVED = "approved", "Your part was approved"
    SENT_BACK = "sent_back", "Your part was sent back to review"
    MARKED_INCORRECT = "marked_incorrect", "Your part was marked as made incorrectly"
    CONVERSION_FAILED = "conversion_failed", "The 3D model of your upload could not be made"
    FOLLOWED_COMPLETED = "followed_completed", "A part you follow was completed"
    INFECTED = "infected", "An upload was found infected and quarantined (leads)"
    WEBHOOK_DISABLED = "webhook_disabled", "A webhook endpoint was disabled after repeated failures (leads)"


# Only leads hear of these, so only leads are asked whether they want them by email.
LEAD_KINDS = frozenset({NotificationKind.INFECTED, NotificationKind.WEBHOOK_DISABLED})


class EmailStatus(models.TextChoices):
    """pending -> sending -> sent | failed; failed -> sending on a retry. Blank: not sent by email."""

    NONE = "", "Not by email"
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Could not be sent"


class Notification(models.Model):
    """Something one person should know, in their inbox and, if they chose so, by email."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    event = models.ForeignKey("partsite.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    part = models.ForeignKey("parts.Part", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True, help_text="Where it is about, as a path on this site.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=8, choices=EmailStatus.choices, blank=True, default=EmailStatus.NONE)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            # An event told twice notifies each person once.
            models.UniqueConstraint(fields=["event", "recipient", "kind"], name="notification_once_per_event"),
        ]

    def __str__(self):
        return f"{self.recipient} {self.kind}: {self.title}"


class EmailChoice(models.Model):
    """Whether someone wants one kind of notification by email. Without a row: yes (when they have an address)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_choices")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="email_choice_once_per_kind")]

    def __str__(self):
        return f"{self.user} {self.kind}: {'email' if self.email else 'inbox only'}"


class Follow(models.Model):
    """Someone who wants to hear when a part is completed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    part = models.ForeignKey("parts.Part", on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "part"], name="follow_once")]

    def __str__(self):
        return f"{self.user} follows {self.part_id}"


# --- Telling other systems: webhooks ---------------------------------------------------------


class WebhookEndpoint(models.Model):
    """An address that other systems registered to hear of events, with the secret that signs them."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(
        default=list, blank=True, help_text="The event types sent there; none chosen means every one.",
    )
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.TextField(blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["url", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.url

    def wants(self, event_type):
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    """pending -> sending -> succeeded | pending (to be tried again at next_attempt_at) | failed (given up)."""

    PENDING = "pending", "Waiting"
    SENDING = "sending", "Being sent"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


# Test events are sent to one endpoint on a lead's request and are not events of the outbox.
TEST_EVENT_TYPE = "webhook.test"


class WebhookDelivery(models.Model):
    """One message to one endpoint: its body, signed anew at each attempt, and how its attempts went."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("partsite.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message_id = models.CharField(max_length=64, help_text="The webhook-id header; the same at every attempt.")
    event_type = models.CharField(max_length=40)
    body = models.TextField(help_text="The JSON sent, byte for byte the same at every attempt.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong last, or why it was given up.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event told twice is delivered to each endpoint once.
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event"),
        ]

    def __str__(self):
        return f"{self.event_type} to {self.endpoint_id} ({self.status})"

    @property
    def is_test(self):
        return self.event_type == TEST_EVENT_TYPE


class WebhookAttempt(models.Model):
    """One try at a delivery: the delivery log that leads read."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}"
