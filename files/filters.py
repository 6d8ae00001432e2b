import django_filters

from files.models import ConversionStatus, Kind, Revision
from files.selectors import revisions_matching
from partsite.filters import IdFilter


class RevisionFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words to find in the file name, description or product names."
    )
    part = IdFilter(field_name="part_id", help_text="A part's id.")
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    uploaded_by = django_filters.CharFilter(
        field_name="uploaded_by__username", lookup_expr="iexact", help_text="A username (any case).",
    )
    uploaded_after = django_filters.IsoDateTimeFilter(field_name="uploaded_at", lookup_expr="gte")
    uploaded_before = django_filters.IsoDateTimeFilter(field_name="uploaded_at", lookup_expr="lt")
    schema = django_filters.CharFilter(lookup_expr="iexact", help_text="AP203, AP214, AP242, ...")
    conversion_status = django_filters.MultipleChoiceFilter(choices=ConversionStatus.choices)
    ordering = django_filters.OrderingFilter(fields=("uploaded_at", "number", "size", "filename"))

    class Meta:
        model = Revision
        fields = []

    def filter_search(self, queryset, name, value):
        return revisions_matching(queryset, value)
