from auditlog.registry import auditlog
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from parts.lifecycle import FABRICATION, RELEASED, Action, Category, Status, Type, category_of
from parts.onshape import validate_onshape_url
from partsite.events import absolute_url


def category_q(category):
    """The filter that selects the parts shown in a category (see lifecycle.category_of)."""
    if category == Category.REVIEW:
        return Q(status=Status.PENDING)
    if category in (Category.COMPLETED, Category.RETIRED):
        return Q(status=category)
    return Q(type=category, status__in=FABRICATION)


# How many of a part a shop makes in one go. Bounded so that totals (the board, /stats/) stay
# far inside any database's integers however many parts there are.
AMOUNT_MIN, AMOUNT_MAX = 1, 100_000


class Material(models.Model):
    """A stock material the shop cuts, with its density, so a measured volume gives a mass.

    Parts name their material in free text (Part.material); parts.materials matches that text
    to a row here by name or by one of its other names, ignoring case and spelling variants.
    """

    name = models.CharField(max_length=100, unique=True)
    density_kg_m3 = models.FloatField(validators=[MinValueValidator(1)], help_text="kg/m³")
    default_thickness = models.CharField(
        max_length=50, blank=True, help_text='The stock it usually comes in, for example "6 mm" or "1/4 in".',
    )
    other_names = models.CharField(
        max_length=300, blank=True, help_text='Other names parts use for it, comma-separated, for example "6061, Al 6061".',
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class LatestRevisionNotFetched(RuntimeError):
    """Part.latest_revision was read from a part that parts.selectors.part_queryset() did not read."""


class Part(models.Model):
    part_number = models.CharField(max_length=64, unique=True, blank=True, help_text="Generated when left blank.")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.CNC)
    material = models.CharField(max_length=100, blank=True)
    material_thickness = models.CharField(max_length=50, blank=True, help_text='For example "6 mm" or "1/4 in".')
    subsystem = models.CharField(max_length=100, blank=True)
    amount = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(AMOUNT_MIN), MaxValueValidator(AMOUNT_MAX)],
        help_text=f"How many to make: {AMOUNT_MIN} to {AMOUNT_MAX:,}.",
    )
    notes = models.TextField(blank=True)
    onshape_url = models.URLField(
        max_length=500, blank=True, validators=[validate_onshape_url],
        help_text="The Onshape tab (part studio, assembly or drawing) the model comes from.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, editable=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_parts",
        editable=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviewed_parts",
        editable=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    storage_location = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_incorrectly = models.BooleanField(default=False, editable=False)
    # Approval pins the STEP revision that was reviewed; completion records the one that
    # was built. A newer upload never replaces either.
    approved_revision = models.ForeignKey(
        "files.Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="approved_for", editable=False,
    )
    built_revision = models.ForeignKey(
        "files.Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="built_for", editable=False,
    )
    built_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The drawing released with the approved revision (the latest at approval), and the one
    # completion recorded as built from; either may be empty.
    approved_drawing = models.ForeignKey(
        "files.Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="approved_drawing_for",
        editable=False,
    )
    built_drawing = models.ForeignKey(
        "files.Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="built_drawing_for",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_parts", editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "type"]),
            models.Index(fields=["subsystem"]),
            models.Index(fields=["material"]),
            models.Index(fields=["-updated_at", "-id"]),
        ]
        constraints = [
            # One rule for part numbers: kept as typed, unique in any case ("p-7" is taken when "P-7" is).
            models.UniqueConstraint(Lower("part_number"), name="part_number_unique_in_any_case"),
            models.CheckConstraint(
                condition=Q(amount__gte=AMOUNT_MIN, amount__lte=AMOUNT_MAX), name="part_amount_in_range",
            ),
        ]

    def __str__(self):
        return f"{self.part_number} {self.name}"

    def get_absolute_url(self):
        return reverse("part-detail", args=[self.pk])

    @property
    def category(self):
        return category_of(self.status, self.type)

    def event_data(self):
        """What an event tells of this part (partsite.events): the part as it is at that moment."""
        return {
            "id": self.pk, "part_number": self.part_number, "name": self.name, "type": self.type,
            "status": self.status, "category": self.category,
            "assignee": self.assignee.get_username() if self.assignee_id else None,
            "url": absolute_url(reverse("part-detail", args=[self.pk])),
            "api_url": absolute_url(f"/api/parts/{self.pk}/"),
        }

    @property
    def latest_revision(self):
        """The newest STEP revision, as parts.selectors.part_queryset() reads it: for a whole page of
        parts in one query. Read part by part it would cost a query each, unseen in a list, so a part
        read any other way has none to give; `part.revisions.latest_step()` is the query for one part."""
        try:
            newest_first = self.latest_step_revisions
        except AttributeError:
            raise LatestRevisionNotFetched(
                f"Part {self.pk}'s latest revision was not read with it: read the part with "
                "parts.selectors.part_queryset(), or ask part.revisions.latest_step()."
            ) from None
        return next(iter(newest_first), None)

    @property
    def newer_revision(self):
        """The latest STEP revision of a released part when it is newer than the one its approval
        pinned, else None: "R3 is newer than the approved R2"."""
        approved = self.approved_revision
        if self.status not in RELEASED or approved is None:
            return None
        latest = self.latest_revision
        return latest if latest is not None and latest.number > approved.number else None


class PartEvent(models.Model):
    """One step on a part's timeline: a lifecycle move, who made it, and why."""

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["part", "created_at"])]

    def __str__(self):
        """ "Approve: in review → approved", or "Uploaded a file" where the status stayed."""
        told = Action(self.action).label
        if self.from_status and self.from_status != self.to_status:
            told += f": {Status(self.from_status).label.lower()} → {Status(self.to_status).label.lower()}"
        return told


class PagePreference(models.Model):
    """How a person likes the pages: kept per person, so it follows them to every device."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="page_preference")
    high_contrast = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.user_id}: {'high contrast' if self.high_contrast else 'system theme'}"


# Its own columns only: a reverse relation (its uploads, revisions) would log as "files.Upload.None".
auditlog.register(Part, include_fields=[field.name for field in Part._meta.concrete_fields if field.name != "updated_at"])
auditlog.register(Material)
