from django.db.models import Count, Sum

from parts.lifecycle import Category, Status, category_of
from parts.models import Part


def part_queryset():
    return Part.objects.select_related("assignee", "reviewer", "created_by")


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
