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
