import uuid
from pathlib import PurePath

from auditlog.registry import auditlog
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from files.facts import GeometryFacts
from partsite.events import absolute_url


class Kind(models.TextChoices):
    STEP = "step", "STEP model"
    DRAWING = "drawing", "Drawing"


# Extensions per kind, compared case-insensitively, and what each kind is stored and served as.
# A drawing is a PDF, or a DXF for CNC and laser work; each is stored and served as its own type.
DRAWING_CONTENT_TYPES = {".pdf": "application/pdf", ".dxf": "image/vnd.dxf"}
EXTENSIONS = {Kind.STEP: (".step", ".stp"), Kind.DRAWING: tuple(DRAWING_CONTENT_TYPES)}
CONTENT_TYPES = {Kind.STEP: "model/step", Kind.DRAWING: "application/pdf"}


def content_type_for(kind, filename):
    """What a file of this kind is stored and served as: a drawing's type follows its extension."""
    if kind == Kind.DRAWING:
        return DRAWING_CONTENT_TYPES.get(PurePath(filename or "").suffix.lower(), CONTENT_TYPES[kind])
    return CONTENT_TYPES[kind]


GLB_CONTENT_TYPE = "model/gltf-binary"
PREVIEW_CONTENT_TYPE = "image/png"
DXF_CONTENT_TYPE = "image/vnd.dxf"


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
    ConversionStatus.NONE: "#5a6578",
    ConversionStatus.PENDING: "#975a16",
    ConversionStatus.RUNNING: "#6b46c1",
    ConversionStatus.READY: "#2f855a",
    ConversionStatus.FAILED: "#c53030",
}


class ScanStatus(models.TextChoices):
    """The malware scan of a revision's file (files.scanning).

    pending -> clean | infected | error; any -> pending when a lead asks for a new scan.
    not_scanned: uploaded while scanning was off (no CLAMAV_ADDRESS); served as before.
    """

    NOT_SCANNED = "not_scanned", "Not scanned"
    PENDING = "pending", "Waiting for the scan"
    CLEAN = "clean", "Clean"
    INFECTED = "infected", "Infected (quarantined)"
    ERROR = "error", "Could not be scanned"


class RevisionQuerySet(models.QuerySet):
    def pinned(self):
        """Revisions (models and drawings) an approval or a completion refers to: these are never deleted."""
        return self.filter(
            Q(approved_for__isnull=False) | Q(built_for__isnull=False)
            | Q(approved_drawing_for__isnull=False) | Q(built_drawing_for__isnull=False)
        ).distinct()

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
    # The worker process converting it ("host:pid:thread"): gone, its conversion is taken up again at once.
    conversion_claimed_by = models.CharField(max_length=255, blank=True, editable=False)
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
    # Measured on the B-rep beside the conversion (files.geometry): sizes in mm, volume in mm³, the
    # plate check, the DATA section's hash. Null until measured; geometry_error says why it could not be.
    geometry = models.JSONField(null=True, blank=True, editable=False)
    geometry_error = models.TextField(blank=True, help_text="Why the model could not be measured, when it could not.")
    # Over GLB_COMPACT_MIN_BYTES, the GLB meshopt-compressed (files.compact): what the 3D view loads.
    glb_compact_key = models.CharField(max_length=255, blank=True, editable=False)
    glb_compact_size = models.BigIntegerField(null=True, blank=True, editable=False)
    glb_compact_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # ... and a coarse version of it (a tenth of its triangles), which the 3D view draws first.
    glb_coarse_key = models.CharField(max_length=255, blank=True, editable=False)
    glb_coarse_size = models.BigIntegerField(null=True, blank=True, editable=False)
    glb_coarse_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The DXF of a plate's outline and holes (files.geometry), stored beside the GLB and replaced with it.
    dxf_key = models.CharField(max_length=255, blank=True, editable=False)
    dxf_size = models.BigIntegerField(null=True, blank=True, editable=False)
    dxf_sha256 = models.CharField(max_length=64, blank=True, editable=False)

    scan_status = models.CharField(
        max_length=12, choices=ScanStatus.choices, default=ScanStatus.NOT_SCANNED, db_index=True,
    )
    scan_signature = models.CharField(max_length=200, blank=True, help_text="What the scanner found, when infected.")
    scan_error = models.TextField(blank=True, help_text="Why the file could not be scanned, or was not yet.")
    scan_attempts = models.PositiveSmallIntegerField(default=0)
    scan_queued_at = models.DateTimeField(null=True, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    # Where in Onshape an imported file was exported from (empty for uploads): the element, the
    # workspace, version or microversion its link named, and the exact microversion exported.
    onshape_document_id = models.CharField(max_length=24, blank=True)
    onshape_element_id = models.CharField(max_length=24, blank=True)
    onshape_wvm = models.CharField(max_length=1, blank=True, help_text="w, v or m: what the link named.")
    onshape_wvm_id = models.CharField(max_length=24, blank=True)
    onshape_microversion_id = models.CharField(max_length=24, blank=True, help_text="The state of the document exported.")

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

    def event_data(self):
        """What an event tells of this revision (partsite.events): the file, and its 3D model as it is then."""
        return {
            "id": self.pk, "label": self.label, "kind": self.kind, "filename": self.filename,
            "description": self.description, "size": self.size, "sha256": self.sha256,
            "uploaded_by": self.uploaded_by.get_username() if self.uploaded_by_id else None,
            "uploaded_at": self.uploaded_at.isoformat(),
            "conversion_status": self.conversion_status, "conversion_error": self.conversion_error,
            "triangles": self.triangles, "bbox_mm": self.bbox_mm, "scan_status": self.scan_status,
            "onshape": self.onshape_source,
            "download_url": absolute_url(reverse("revision-download", args=[self.pk])),
        }

    @property
    def onshape_source(self):
        """Where in Onshape the file was exported from, or None for an upload."""
        if not self.onshape_document_id:
            return None
        return {
            "document_id": self.onshape_document_id, "element_id": self.onshape_element_id, "wvm": self.onshape_wvm,
            "wvm_id": self.onshape_wvm_id, "microversion_id": self.onshape_microversion_id,
        }

    def get_additional_data(self):
        """Kept with each change-log entry (auditlog): the part, by id, which the entry itself names in words
        (AUDITLOG_USE_FK_STRING_REPRESENTATION); audit.selectors finds a deleted revision's part by it."""
        return {"part": self.part_id}

    @property
    def facts(self):
        """What the geometry says to a person (files.facts.GeometryFacts), or None before it is measured."""
        return GeometryFacts.of(self.geometry) if self.geometry else None

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


class ImportStatus(models.TextChoices):
    """An Onshape import: queued -> translating -> done | failed; queued -> failed."""

    QUEUED = "queued", "Waiting to start"
    TRANSLATING = "translating", "Onshape is exporting"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class OnshapeImport(models.Model):
    """Exporting a part's Onshape element and storing the file as a new revision, as an upload would be.

    The state lives here, so the task that moves it along takes only its id and may run twice;
    `next_step_at` is when it is due again (while Onshape is exporting) and, while a worker has
    it, the end of that worker's lease.
    """

    part = models.ForeignKey("parts.Part", on_delete=models.CASCADE, related_name="onshape_imports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    document_id = models.CharField(max_length=24)
    wvm = models.CharField(max_length=1)
    wvm_id = models.CharField(max_length=24)
    element_id = models.CharField(max_length=24)
    element_type = models.CharField(max_length=20, blank=True)
    element_name = models.CharField(max_length=255, blank=True)
    microversion_id = models.CharField(max_length=24, blank=True)
    translation_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    error = models.TextField(blank=True)
    failures = models.PositiveSmallIntegerField(default=0, help_text="Attempts that Onshape did not answer.")
    revision = models.ForeignKey(Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    next_step_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Onshape import {self.pk} of part {self.part_id} ({self.status})"


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
    # When the completion under way began; one left `completing` long past it was interrupted.
    completing_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"upload {self.id} of {self.filename}"

    @property
    def content_type(self):
        return content_type_for(self.kind, self.filename)

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
