import itertools

from django.utils import timezone

from parts.lifecycle import Status
from parts.models import Part

_numbers = itertools.count(1)


def make_part(status=Status.PENDING, assignee=None, **fields):
    """A part already in the given status, as if the moves before it had been made."""
    now = timezone.now()
    defaults = {
        "part_number": f"T-{next(_numbers):05d}",
        "name": "Bracket",
        "type": "cnc",
        "material": "6061 aluminium",
        "material_thickness": "6 mm",
        "subsystem": "Drivetrain",
    }
    if status in (Status.IN_PROGRESS, Status.COMPLETED):
        fields.setdefault("claimed_at", now)
    if status == Status.COMPLETED:
        fields.setdefault("completed_at", now)
    return Part.objects.create(status=status, assignee=assignee, **{**defaults, **fields})


_revision_numbers = itertools.count(1)


def make_revision(part, kind="step", number=None, **fields):
    """A stored revision of `part` (its row only, no file): a converted STEP model unless told otherwise."""
    from files.models import ConversionStatus, Kind, Revision

    if number is None:
        number = (part.revisions.filter(kind=kind).order_by("-number").values_list("number", flat=True).first() or 0) + 1
    if kind == Kind.STEP:
        fields.setdefault("conversion_status", ConversionStatus.READY)
    serial = next(_revision_numbers)
    return Revision.objects.create(
        part=part, kind=kind, number=number, filename=f"{part.part_number}-{number}.{'step' if kind == Kind.STEP else 'pdf'}",
        size=1000 + number, sha256=f"{serial:064x}", content_type="model/step" if kind == Kind.STEP else "application/pdf",
        storage_key=f"revisions/test-{serial}", **fields,
    )
