from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from audit.models import Notification
from audit.selectors import ACTIONS, OBJECT_TYPE_CHOICES, audit_feed
from partsite.filters import IdFilter

@extend_schema_field({"type": "string", "enum": [value for value, _ in ACTIONS]})
class ActionFilter(filters.MultipleChoiceFilter):
    """The actions by name: the schema would otherwise take their type from LogEntry.action, an integer."""


# The page's time pickers send "2026-11-22T14:13", which ISO 8601 parsing takes as is.
_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"})


class AuditFilter(filters.FilterSet):
    """The audit feed's filters, for the API, its CSV export and the leads' audit page alike.

    The feed is a union of three tables, so the filters are not applied one by one to a
    queryset: the validated values go to audit.selectors.audit_feed, which applies each to
    every table it concerns.
    """

    actor = filters.CharFilter(label="Who", help_text="Username of who acted (any case).")
    action = ActionFilter(
        label="Actions", choices=ACTIONS, widget=forms.SelectMultiple(attrs={"size": 4}), help_text="One or more actions; repeat the parameter for several.",
    )
    object_type = filters.ChoiceFilter(
        label="About", choices=OBJECT_TYPE_CHOICES, empty_label="anything",
        help_text="What the entry is about. File accesses are about a revision, sign-ins about a user.",
    )
    object_id = IdFilter(label="Id", help_text="The id of what the entry is about.")
    since = filters.IsoDateTimeFilter(label="Since", widget=_MOMENT, help_text="From this time on (ISO 8601), inclusive.")
    until = filters.IsoDateTimeFilter(label="Until", widget=_MOMENT, help_text="Up to this time (ISO 8601), inclusive.")

    def filter_queryset(self, queryset):
        values = self.form.cleaned_data
        return audit_feed(
            actor=values.get("actor") or None,
            actions=values.get("action") or None,
            object_type=values.get("object_type") or None,
            object_id=values.get("object_id"),
            since=values.get("since"),
            until=values.get("until"),
        )


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label="Unread only",
                                   help_text="true: only the notifications not read yet.")

    class Meta:
        model = Notification
        fields = ["unread", "kind"]
