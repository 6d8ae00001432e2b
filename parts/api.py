from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from audit.selectors import part_history
from audit.serializers import HistoryEntrySerializer
from parts import permissions, services
from parts.filters import PartFilter
from parts.lifecycle import Action
from parts.selectors import part_queryset, part_stats
from parts.serializers import (
    AssignSerializer,
    CompleteSerializer,
    NoteSerializer,
    PartEventSerializer,
    PartSerializer,
    ReasonSerializer,
    StatsSerializer,
    UnclaimSerializer,
)
from partsite.errors import NotPermitted
from partsite.roles import HasRole

# The API view's action name -> the check it needs before the part is even read.
_WRITE_CHECKS = {
    "create": permissions.can_edit_parts,
    "update": permissions.can_edit_parts,
    "partial_update": permissions.can_edit_parts,
    "destroy": permissions.can_delete_parts,
}


class PartPermission(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if view.action in _WRITE_CHECKS:
            if not _WRITE_CHECKS[view.action](user):
                self.message = "Your role may not " + {"destroy": "delete parts."}.get(view.action, "change parts.")
                return False
        elif view.action in Action.values:
            try:
                permissions.check_may_attempt(user, view.action)
            except NotPermitted as refused:
                self.message = refused.message
                return False
        return True


def _move_endpoint(action_name, body_serializer, service, summary):
    """A POST endpoint for one lifecycle move: validate the body, call the service, return the part."""

    @extend_schema(request=body_serializer, responses=PartSerializer, summary=summary)
    def endpoint(self, request, pk=None):
        part = self.get_object()
        arguments = {}
        if body_serializer is not None:
            body = body_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            arguments = body.validated_data
        part = service(part=part, actor=request.user, **arguments)
        return Response(PartSerializer(part, context=self.get_serializer_context()).data)

    endpoint.__name__ = action_name
    return action(detail=True, methods=["post"], url_path=action_name)(endpoint)


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

    def perform_create(self, serializer):
        serializer.instance = services.part_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.part_update(
            part=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.part_delete(part=instance, actor=self.request.user)

    approve = _move_endpoint("approve", NoteSerializer, services.part_approve, "Approve a part in review")
    assign = _move_endpoint("assign", AssignSerializer, services.part_assign, "Assign a part to a user")
    claim = _move_endpoint("claim", None, services.part_claim, "Claim a part for yourself")
    unclaim = _move_endpoint("unclaim", UnclaimSerializer, services.part_unclaim, "Put unfinished work back")
    complete = _move_endpoint("complete", CompleteSerializer, services.part_complete, "Complete a part")
    revert = _move_endpoint("revert", ReasonSerializer, services.part_revert, "Reopen a completed part")
    mark_incorrect = _move_endpoint(
        "mark_incorrect", ReasonSerializer, services.part_mark_incorrect, "Send a wrongly made part back to its queue"
    )
    send_back = _move_endpoint("send_back", ReasonSerializer, services.part_send_back, "Send a part back to review")
    retire = _move_endpoint("retire", ReasonSerializer, services.part_retire, "Retire an obsolete part")
    restore = _move_endpoint("restore", NoteSerializer, services.part_restore, "Bring a retired part back to review")

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
