"""The leads' audit page: the API's audit feed, with the same filters, as a page."""

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from audit.filters import AuditFilter
from audit.selectors import CHANGE, audit_feed, with_changes
from partsite.pages import role_required
from partsite.roles import is_lead

PAGE_SIZE = 50


@role_required
def audit_page(request):
    if not is_lead(request.user):
        raise PermissionDenied("Only leads may read the audit trail.")
    filterset = AuditFilter(request.GET, queryset=LogEntry.objects.all())
    valid = filterset.is_valid()
    feed = filterset.qs if valid else audit_feed()
    page = Paginator(feed, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = with_changes(page.object_list)
    for row in rows:
        row["change_lines"] = describe_changes(row["changes"]) if row["kind"] == CHANGE else []
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit.html", {
        "filter": filterset, "form": filterset.form, "valid": valid, "page": page, "rows": rows,
        "query": query.urlencode(), "export_url": f"{reverse('audit-export')}?{query.urlencode()}",
    })


def describe_changes(changes):
    """django-auditlog's {field: [old, new]} (or a many-to-many operation) as lines for people."""
    lines = []
    for name, change in (changes or {}).items():
        if isinstance(change, dict) and change.get("type") == "m2m":
            lines.append(f"{name}: {change.get('operation')} {', '.join(map(str, change.get('objects', [])))}")
        elif isinstance(change, list | tuple) and len(change) == 2:
            lines.append(f"{name}: {change[0]} → {change[1]}")
        else:
            lines.append(f"{name}: {change}")
    return lines
