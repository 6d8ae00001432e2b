"""Query filters shared by the apps' lists."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

# Row ids are 64-bit (DEFAULT_AUTO_FIELD); a number past them is refused rather than sent to the database.
ID_MIN, ID_MAX = 1, 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX})
class IdFilter(filters.NumberFilter):
    """A row's id: a whole number from 1 to 2**63 - 1, else a 400 naming the parameter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", ID_MIN)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(*args, **kwargs)
