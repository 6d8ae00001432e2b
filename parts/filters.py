import django_filters

from parts.lifecycle import Category, Status, Type
from parts.models import Part, category_q
from parts.selectors import parts_matching


class PartFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices, method="filter_category")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    type = django_filters.ChoiceFilter(choices=Type.choices)
    subsystem = django_filters.CharFilter(lookup_expr="iexact")
    material = django_filters.CharFilter(lookup_expr="iexact")
    assignee = django_filters.CharFilter(method="filter_assignee", help_text='A username (any case), or "me".')
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Words to find in name, part number, notes, subsystem, material, storage location or assignee, "
        "or in the file names, descriptions and STEP product names of its revisions.",
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            "part_number", "name", "type", "status", "material", "subsystem", "amount",
            "created_at", "updated_at", "claimed_at", "completed_at", "reviewed_at",
        )
    )

    class Meta:
        model = Part
        fields = []

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_q(value))

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        return queryset.filter(assignee__username__iexact=value)

    def filter_search(self, queryset, name, value):
        return parts_matching(queryset, value)
