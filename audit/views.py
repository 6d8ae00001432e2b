"""The leads' audit page (the API's audit feed, with the same filters), and everyone's inbox."""

from auditlog.models import LogEntry
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit import notifications
from audit.filters import AuditFilter
from audit.models import Notification, NotificationKind
from audit.selectors import CHANGE, audit_feed, with_changes
from parts.models import Part
from partsite.pages import role_required
from partsite.roles import is_lead, role_of

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


# --- The inbox ---------------------------------------------------------------------------------

INBOX_PAGE_SIZE = 50


def inbox_context(request):
    """The header's unread count, counted only when a page shows it (API responses never do)."""
    user = getattr(request, "user", None)
    if user is None or role_of(user) is None:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: notifications.unread_count(user))}


@role_required
def inbox(request):
    mine = Notification.objects.filter(recipient=request.user).select_related("part")
    page = Paginator(mine, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/inbox.html", {"page": page})


@require_POST
@role_required
def inbox_open(request, pk):
    """Mark one notification read and go where it points."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.notification_mark_read(user=request.user, notification_id=notification.pk)
    if notification.link and url_has_allowed_host_and_scheme(notification.link, allowed_hosts=None):
        return redirect(notification.link)
    return redirect("inbox")


@require_POST
@role_required
def inbox_read_all(request):
    marked = notifications.notifications_mark_all_read(user=request.user)
    messages.success(request, f"Marked {marked} notification{pluralize(marked)} read.")
    return redirect("inbox")


class EmailChoicesForm(forms.Form):
    """One box per kind of notification the person can get: ticked, it also comes by email."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, email in notifications.email_choices(user).items():
            self.fields[kind] = forms.BooleanField(label=NotificationKind(kind).label, required=False, initial=email)


@role_required
def inbox_settings(request):
    form = EmailChoicesForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        notifications.email_choices_set(user=request.user, choices=form.cleaned_data)
        messages.success(request, "Saved: your email choices.")
        return redirect("inbox-settings")
    return render(request, "audit/inbox_settings.html", {"form": form})


@require_POST
@role_required
def part_follow(request, pk):
    """Follow a part, or stop following it (`stop`), from its page."""
    part = get_object_or_404(Part, pk=pk)
    if request.POST.get("stop"):
        notifications.part_unfollow(user=request.user, part=part)
        messages.success(request, f"You no longer follow {part.part_number}.")
    else:
        notifications.part_follow(user=request.user, part=part)
        messages.success(request, f"You follow {part.part_number}: you will be told when it is completed.")
    return redirect("part-detail", pk=part.pk)
