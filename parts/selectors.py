from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, Prefetch, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber

from files.models import Kind, Revision
from partsite.roles import Role
from parts.lifecycle import Category, Status, category_of
from parts.models import Part

User = get_user_model()


def part_queryset():
    """Parts with everything their JSON shows, in a fixed number of queries however many there are."""
    newest_first = Window(RowNumber(), partition_by=F("part_id"), order_by=F("number").desc())
    latest_steps = Revision.objects.filter(kind=Kind.STEP).annotate(newness=newest_first).filter(newness=1)
    return Part.objects.select_related(
        "assignee", "reviewer", "created_by", "approved_revision", "built_revision"
    ).prefetch_related(Prefetch("revisions", queryset=latest_steps, to_attr="latest_step_revisions"))


def part_stats(parts=None):
    """Counts and total amounts per category and per status."""
    parts = Part.objects.all() if parts is None else parts
    rows = parts.order_by().values("status", "type").annotate(count=Count("id"), amount=Sum("amount"))
    empty = {"count": 0, "amount": 0}
    categories = {category.value: dict(empty) for category in Category}
    statuses = {status.value: dict(empty) for status in Status}
    total = dict(empty)
    for row in rows:
        for bucket in (categories[category_of(row["status"], row["type"])], statuses[row["status"]], total):
            bucket["count"] += row["count"]
            bucket["amount"] += row["amount"]
    return {"categories": categories, "statuses": statuses, "total": total}


# Shop-floor pages


def board_order(parts):
    """What to make next first: half-finished parts, then waiting ones, then work in progress, newest first."""
    first_to_make = Case(
        When(status=Status.ALREADY_STARTED, then=Value(0)),
        When(status=Status.REVIEWED, then=Value(1)),
        When(status=Status.IN_PROGRESS, then=Value(2)),
        default=Value(3),
    )
    return parts.annotate(board_rank=first_to_make).order_by("board_rank", "-updated_at", "-id")


def board_filter_choices():
    """The subsystems, materials and assignees the board's filters offer."""
    def distinct(field):
        return list(
            Part.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        )

    people = (
        User.objects.filter(Q(groups__name__in=[Role.LEAD, Role.FABRICATOR]) | Q(is_superuser=True), is_active=True)
        .distinct().order_by("username")
    )
    return {"subsystems": distinct("subsystem"), "materials": distinct("material"), "people": list(people)}


# Claim-to-completion time buckets for the stats page: (label, upper bound in hours).
COMPLETION_BUCKETS = (("under 1 h", 1), ("1–4 h", 4), ("4–8 h", 8), ("8–24 h", 24), ("over 24 h", None))


def completion_time_buckets(parts=None):
    """How many completed parts took how long from their (last) claim to completion."""
    parts = Part.objects.all() if parts is None else parts
    counts = {label: 0 for label, _ in COMPLETION_BUCKETS}
    spans = parts.filter(
        status=Status.COMPLETED, claimed_at__isnull=False, completed_at__isnull=False
    ).values_list("claimed_at", "completed_at")
    for claimed_at, completed_at in spans:
        hours = (completed_at - claimed_at).total_seconds() / 3600
        label = next(label for label, bound in COMPLETION_BUCKETS if bound is None or hours < bound)
        counts[label] += 1
    return [{"label": label, "count": count} for label, count in counts.items()]


def completion_leaderboard(parts=None):
    """Who completed how many parts (and units), most first."""
    parts = Part.objects.all() if parts is None else parts
    return list(
        parts.filter(status=Status.COMPLETED, assignee__isnull=False)
        .order_by().values("assignee__username")
        .annotate(parts=Count("id"), units=Sum("amount"))
        .order_by("-parts", "-units", "assignee__username")
    )
