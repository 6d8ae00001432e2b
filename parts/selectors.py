from django.db.models import Count, F, Prefetch, Sum, Window
from django.db.models.functions import RowNumber

from files.models import Kind, Revision

from parts.lifecycle import Category, Status, category_of
from parts.models import Part


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
