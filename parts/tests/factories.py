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
