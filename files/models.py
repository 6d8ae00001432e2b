import uuid

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Kind(models.TextChoices):
    STEP = "step", "STEP model"
    DRAWING = "drawing", "PDF drawing"


# Extensions per kind, compared case-insensitively, and what each kind is stored and served as.
EXTENSIONS = {Kind.STEP: (".step", ".stp"), Kind.DRAWING: (".pdf",)}
CONTENT_TYPES = {Kind.STEP: "model/step", Kind.DRAWING: "application/pdf"}
GLB_CONTENT_TYPE = "model/gltf-binary"
PREVIEW_CONTENT_TYPE = "image/png"


class ConversionStatus(models.TextChoices):
    """STEP to GLB conversion of a revision.

    pending -> running -> ready | failed; running -> pending when the worker was lost;
    failed | ready -> pending when a lead asks for a new conversion. Drawings are `none`.
    """

    NONE = "none", "Not converted"
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Converting"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


CONVERSION_BADGE_COLOURS = {
    ConversionStatus.NONE: "#a0aec0",
    ConversionStatus.PENDING: "#b7791f",
    ConversionStatus.RUNNING: "#6b46c1",
    ConversionStatus.READY: "#2f855a",
    ConversionStatus.FAILED: "#c53030",
}


class RevisionQuerySet(models.QuerySet):
    def pinned(self):
        """Revisions an approval or a completion refers to: these are never deleted."""
        return self.filter(Q(approved_for__isnull=False) | Q(built_for__isnull=False)).distinct()

    def latest_step(self):
        """The newest STEP revision (one query): `part.revisions.latest_step()`. For many parts at
        once, parts.selectors.part_queryset() reads theirs in one query as Part.latest_revision."""
        return self.filter(kind=Kind.STEP).order_by("-number").first()


class Revision(models.Model):
    """One immutable file of a part. A new file is a new revision, numbered per part and kind."""

    part = models.ForeignKey("parts.Part", on_delete=models.PROTECT, related_name="revisions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    number = models.PositiveIntegerField()
    filename = models.CharField(max_length=255, help_text="As uploaded; shown and used as the download name only.")
    description = models.TextField(blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=100)
    storage_key = models.CharField(max_length=255, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    # From the STEP header (empty for drawings). Header text is free-form and untrusted.
    schema = models.CharField(max_length=16, blank=True, db_index=True, help_text="AP203, AP214, AP242, ...")
    file_schema = models.CharField(max_length=500, blank=True)
    originating_system = models.CharField(max_length=500, blank=True)
    preprocessor = models.CharField(max_length=500, blank=True)
    author = models.CharField(max_length=500, blank=True)
    organization = models.CharField(max_length=500, blank=True)
    file_timestamp = models.CharField(max_length=500, blank=True)
    product_names = models.JSONField(default=list, blank=True)

    conversion_status = models.CharField(
        max_length=8, choices=ConversionStatus.choices, default=ConversionStatus.NONE, db_index=True
    )
    conversion_error = models.TextField(blank=True)
    conversion_attempts = models.PositiveSmallIntegerField(default=0)
    conversion_queued_at = models.DateTimeField(null=True, blank=True)
    conversion_started_at = models.DateTimeField(null=True, blank=True)
    conversion_finished_at = models.DateTimeField(null=True, blank=True)
    conversion_seconds = models.FloatField(null=True, blank=True, help_text="The converter's own run time.")
    conversion_peak_memory_mb = models.FloatField(null=True, blank=True)
    glb_key = models.CharField(max_length=255, blank=True, editable=False)
    glb_size = models.BigIntegerField(null=True, blank=True)
    glb_sha256 = models.CharField(max_length=64, blank=True)
    triangles = models.PositiveIntegerField(null=True, blank=True)
    bbox_mm = models.JSONField(null=True, blank=True, help_text="Bounding box size [x, y, z] in millimetres.")
    # A PNG drawn from the GLB after the conversion. It follows the GLB: replaced when the
    # revision is converted again, deleted with it. Failing to draw it leaves the model ready.
    preview_key = models.CharField(max_length=255, blank=True, editable=False)
    preview_error = models.TextField(blank=True, help_text="Why no preview could be drawn, when it could not.")

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["part", "kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["part", "kind", "number"], name="revision_number_unique_per_part_kind"),
        ]
        indexes = [models.Index(fields=["part", "kind", "-number"])]

    def __str__(self):
        return f"{self.label} {self.filename} (part {self.part_id})"

    @property
    def label(self) -> str:
        """R1, R2, ... for STEP models; D1, D2, ... for drawings."""
        return f"{'R' if self.kind == Kind.STEP else 'D'}{self.number}"

    @property
    def has_preview(self) -> bool:
        return bool(self.preview_key)

    @property
    def preview_url(self) -> str | None:
        """The preview's path, None without one. It names the stored image, so browsers may cache it."""
        if not self.preview_key:
            return None
        return f"{reverse('revision-preview', args=[self.pk])}?v={self.preview_version}"

    @property
    def preview_version(self) -> str:
        """The stored image's name, which a new preview changes."""
        return self.preview_key.rsplit("/", 1)[-1].split(".", 1)[0]


class UploadStatus(models.TextChoices):
    OPEN = "open", "Receiving parts"
    COMPLETING = "completing", "Being completed"
    COMPLETED = "completed", "Completed"
    ABORTED = "aborted", "Aborted"
    FAILED = "failed", "Failed verification"
    EXPIRED = "expired", "Expired"


class Upload(models.Model):
    """A direct, resumable upload: the client sends numbered parts, then asks to complete it.

    On S3 the parts form an S3 multipart upload to `storage_key`; on local disk they wait
    as files in UPLOAD_PARTS_DIR/<id>/. Completing verifies the whole and makes a revision.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    part = models.ForeignKey("parts.Part", on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    filename = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    size = models.BigIntegerField()
    declared_sha256 = models.CharField(max_length=64, blank=True)
    part_size = models.BigIntegerField()
    storage_key = models.CharField(max_length=255, unique=True, editable=False)
    s3_upload_id = models.CharField(max_length=1024, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=UploadStatus.choices, default=UploadStatus.OPEN)
    error = models.TextField(blank=True)
    revision = models.OneToOneField(Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # When its parts (local files or the S3 multipart upload) were cleaned up; until then
    # the expiry task keeps trying.
    parts_discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"upload {self.id} of {self.filename}"

    @property
    def content_type(self):
        return CONTENT_TYPES[self.kind]

    @property
    def part_count(self):
        return max(1, -(-self.size // self.part_size))

    def part_length(self, number):
        """How many bytes part `number` (1-based) carries: the last one takes the rest."""
        return min(self.part_size, self.size - (number - 1) * self.part_size)


auditlog.register(
    Revision,
    include_fields=["part", "kind", "number", "filename", "description", "size", "sha256", "uploaded_by"],
)
