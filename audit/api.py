from auditlog.models import LogEntry
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer

from audit.export import audit_csv_response
from audit.filters import AuditFilter
from audit.selectors import with_changes
from audit.serializers import AuditEntrySerializer
from partsite.roles import IsLead


class CsvRenderer(BaseRenderer):
    """Lets clients ask for `text/csv`; the export streams its own body, so only refusals pass here."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        detail = str(data.get("detail", data)) if isinstance(data, dict) else str(data)
        return f"detail\r\n{detail}\r\n".encode()


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit trail, for leads: changes, file accesses and sign-in events, newest first.

    Read-only: there is no route that changes or deletes a record.
    """

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    permission_classes = [IsLead]
    # The filter set turns this into the feed (see AuditFilter); the model only satisfies DRF.
    queryset = LogEntry.objects.all()

    @extend_schema(summary="The audit trail (leads only)")
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(with_changes(page), many=True).data)

    @extend_schema(
        summary="The audit trail as CSV, with the same filters (leads only)",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Streamed CSV.")},
    )
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=[JSONRenderer, CsvRenderer])
    def export(self, request):
        return audit_csv_response(self.filter_queryset(self.get_queryset()))
