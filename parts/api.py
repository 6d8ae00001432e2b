from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from audit.selectors import part_history
from audit.serializers import HistoryEntrySerializer
from files.responses import archive_response
from files.services import part_delete_with_files
from parts import permissions, services
from parts.archive import archive_entries, archive_stream
from parts.exchange import MAX_IMPORT_BYTES, import_form_refused, parts_csv_lines, parts_import
from parts.filters import PartFilter
from parts.lifecycle import MOVES, Action, Status
from parts.moves import MOVE_SPECS
from parts.selectors import part_queryset, part_stats
from parts.serializers import (
    MOVE_BODY_SERIALIZERS,
    MOVE_REFUSAL_SERIALIZERS,
    MoveConflictSerializer,
    PartEventSerializer,
    PartImportQuerySerializer,
    PartImportReportSerializer,
    PartImportSerializer,
    PartSerializer,
    StatsSerializer,
)
from partsite.errors import NotPermitted
from partsite.roles import HasRole
from partsite.serializers import ErrorSerializer

# The API view's action name -> the check it needs before the part is even read.
_WRITE_CHECKS = {
    "create": permissions.can_edit_parts,
    "update": permissions.can_edit_parts,
    "partial_update": permissions.can_edit_parts,
    "destroy": permissions.can_delete_parts,
    "import_parts": permissions.can_import_parts,
}
_REFUSALS = {"destroy": "delete parts.", "import_parts": "import parts."}


class PartPermission(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if view.action in _WRITE_CHECKS:
            if not _WRITE_CHECKS[view.action](user):
                self.message = "Your role may not " + _REFUSALS.get(view.action, "change parts.")
                return False
        elif view.action in Action.values:
            try:
                permissions.check_may_attempt(user, view.action)
            except NotPermitted as refused:
                self.message = refused.message
                return False
        return True


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file's type in Accept; the file itself is a streaming response."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)  # an error on the way to the file


class CSVRenderer(_FileRenderer):
    media_type, format = "text/csv", "csv"


class ZipRenderer(_FileRenderer):
    media_type, format = "application/zip", "zip"


# The file endpoints answer with their file whatever ?format= says (JSON only for an error): not offered.
NO_FORMAT_PARAMETER = OpenApiParameter("format", exclude=True)


def _attachment(stream, content_type, filename):
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _move_endpoint(move):
    """A POST endpoint for one lifecycle move: validate its body, call its service, return the part."""
    spec, body_serializer, service = MOVE_SPECS[move], MOVE_BODY_SERIALIZERS.get(move), services.MOVE_SERVICES[move]

    def endpoint(self, request, pk=None):
        part = self.get_object()
        arguments = {}
        if body_serializer is not None:
            body = body_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            arguments = body.validated_data
        part = service(part=part, actor=request.user, **arguments)
        return Response(PartSerializer(self.shown(part), context=self.get_serializer_context()).data)

    endpoint.__name__ = move.value
    lifecycle = MOVES[move]
    sources = ", ".join(Status(status).label.lower() for status in sorted(lifecycle.sources))
    target = Status(lifecycle.target).label.lower() if lifecycle.target else "the same status"
    answers = {200: OpenApiResponse(PartSerializer, description="The part, moved.")}
    if body_serializer is not None:
        answers[400] = OpenApiResponse(
            MOVE_REFUSAL_SERIALIZERS[move], description="The body was refused: what is wrong, by field.",
        )
    answers |= {
        403: OpenApiResponse(ErrorSerializer, description=f"Only {lifecycle.who.value} may make this move."),
        404: OpenApiResponse(ErrorSerializer, description="There is no such part."),
        409: OpenApiResponse(MoveConflictSerializer, description=(
            "The move is not allowed from the part's status now (someone may have been faster)."
        )),
    }
    schema = extend_schema(
        summary=spec.summary, request=body_serializer, responses=answers,
        description=f"From: {sources}. To: {target}. Who: {lifecycle.who.value}.",
    )
    return schema(action(detail=True, methods=["post"], url_path=move.value)(endpoint))


def _with_move_endpoints(viewset):
    """Give the viewset one endpoint per move in the lifecycle, /api/parts/{id}/{move}/."""
    for move in MOVES:
        setattr(viewset, move.value, _move_endpoint(move))
    return viewset


@_with_move_endpoints
class PartViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Parts and their lifecycle. Every move returns the part; an illegal move is a 409."""

    serializer_class = PartSerializer
    filterset_class = PartFilter
    permission_classes = [HasRole, PartPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return part_queryset()

    def shown(self, part):
        """A part a service wrote, read again with everything its JSON shows."""
        return self.get_queryset().get(pk=part.pk)

    def perform_create(self, serializer):
        fields = {name: value for name, value in serializer.validated_data.items() if name != "reason"}
        serializer.instance = self.shown(services.part_create(actor=self.request.user, **fields))

    def perform_update(self, serializer):
        serializer.instance = self.shown(services.part_update(
            part=serializer.instance, actor=self.request.user, **serializer.validated_data
        ))

    def perform_destroy(self, instance):
        part_delete_with_files(part=instance, actor=self.request.user)

    @extend_schema(responses=PartEventSerializer(many=True), summary="The part's timeline")
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        part = self.get_object()
        events = part.events.select_related("actor")
        return Response(PartEventSerializer(events, many=True).data)

    @extend_schema(responses=HistoryEntrySerializer(many=True), summary="The part's whole history, oldest first")
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        """Field changes, lifecycle moves, revisions uploaded or deleted and file accesses, in one list."""
        return Response(HistoryEntrySerializer(part_history(self.get_object()), many=True).data)

    @extend_schema(responses=StatsSerializer, summary="Counts and amounts per category and status")
    @action(detail=False, methods=["get"], pagination_class=None)
    def stats(self, request):
        return Response(part_stats(self.filter_queryset(self.get_queryset())))

    @extend_schema(
        filters=True, parameters=[NO_FORMAT_PARAMETER], responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The parts as CSV, with the list's filters; the columns the import reads come first",
    )
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=[JSONRenderer, CSVRenderer])
    def export(self, request):
        parts = self.filter_queryset(self.get_queryset())
        name = f"parts-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return _attachment((line.encode() for line in parts_csv_lines(parts)), "text/csv; charset=utf-8", name)

    @extend_schema(
        filters=True, parameters=[NO_FORMAT_PARAMETER],
        responses={(200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY, description="MANIFEST.csv, then per part its approved STEP revision and latest "
                                             "drawing, in a folder named after the part number.",
        )},
        summary="A ZIP of the approved STEP revisions and latest drawings of the parts the list's filters select",
    )
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=[JSONRenderer, ZipRenderer])
    def archive(self, request):
        entries = archive_entries(self.filter_queryset(self.get_queryset()))
        return archive_response(
            request, archive_stream(entries), filename=f"parts-{timezone.now():%Y%m%d-%H%M%S}.zip",
            revisions=list({entry.revision.pk: entry.revision for entry in entries if entry.revision is not None}.values()),
        )

    @extend_schema(
        request={"multipart/form-data": PartImportSerializer},
        parameters=[OpenApiParameter("dry_run", bool, description="Check and report only; write nothing.")],
        responses={
            200: OpenApiResponse(PartImportReportSerializer, description="A dry run found no problem."),
            201: OpenApiResponse(PartImportReportSerializer, description="Every row was imported."),
            400: OpenApiResponse(
                PartImportReportSerializer,
                description="Problems by line and field; a form without a file, or a dry_run that is not a "
                            "boolean, is reported the same way (line null, field file or dry_run).",
            ),
        },
        summary="Import parts from CSV, all or none (leads)",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_parts(self, request):
        body, query = PartImportSerializer(data=request.data), PartImportQuerySerializer(data=request.query_params)
        if not (body.is_valid() & query.is_valid()):  # both checked, so that every problem is told
            refused = [(name, message) for errors in (body.errors, query.errors)
                       for name, messages in errors.items() for message in messages]
            return Response(import_form_refused(refused).as_json(), status=status.HTTP_400_BAD_REQUEST)
        dry_run = body.validated_data["dry_run"] or query.validated_data["dry_run"]
        data = body.validated_data["file"].read(MAX_IMPORT_BYTES + 1)
        report = parts_import(data=data, actor=request.user, dry_run=dry_run)
        if not report.ok:
            code = status.HTTP_400_BAD_REQUEST
        else:
            code = status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED
        return Response(report.as_json(), status=code)
