"""Who fetched which file, and when. Changes to parts and revisions are in django-auditlog."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Access(models.TextChoices):
    DOWNLOAD = "download", "Downloaded the file"
    MODEL = "model", "Viewed the 3D model"


class FileAccess(models.Model):
    """One download or 3D preview of a revision. Kept when the revision or part is deleted."""

    access = models.CharField(max_length=8, choices=Access.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revision = models.ForeignKey("files.Revision", null=True, on_delete=models.SET_NULL, related_name="accesses")
    part = models.ForeignKey("parts.Part", null=True, on_delete=models.SET_NULL, related_name="+")
    # What was fetched, in words that survive the rows above: "P-00012 R3 bracket.step (sha256 ...)".
    what = models.CharField(max_length=400)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "file access"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.access} {self.what}"
