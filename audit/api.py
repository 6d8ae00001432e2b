from auditlog.models import LogEntry
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.fields import IntegerField
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import notifications, webhooks
from audit.export import audit_csv_response
from audit.filters import AuditFilter, NotificationFilter
from audit.models import Follow, Notification, WebhookEndpoint
from audit.selectors import with_changes
from audit.serializers import (
    AuditEntrySerializer,
    EmailChoicesSerializer,
    FollowSerializer,
    NotificationSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointSerializer,
)
from parts.models import Part
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
        filters=True, parameters=[OpenApiParameter("format", exclude=True)],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Streamed CSV.")},
    )
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=[JSONRenderer, CsvRenderer])
    def export(self, request):
        return audit_csv_response(self.filter_queryset(self.get_queryset()))


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your own notifications, newest first: the inbox. Nobody reads anyone else's."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one of your notifications read")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notifications.notification_mark_read(user=request.user, notification_id=notification.pk)
        notification.refresh_from_db()
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=inline_serializer("ReadAll", {"marked": IntegerField()}),
                   summary="Mark all your notifications read")
    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None)
    def read_all(self, request):
        return Response({"marked": notifications.notifications_mark_all_read(user=request.user)})

    @extend_schema(methods=["GET"], responses=EmailChoicesSerializer, summary="Which notifications come by email")
    @extend_schema(methods=["PUT"], request=EmailChoicesSerializer, responses=EmailChoicesSerializer,
                   summary="Choose which notifications come by email (kinds left out stay as they are)")
    @action(detail=False, methods=["get", "put"], url_path="email-settings", pagination_class=None,
            filterset_class=None)
    def email_settings(self, request):
        if request.method == "PUT":
            body = EmailChoicesSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            notifications.email_choices_set(user=request.user, choices=body.validated_data["email"])
        return Response({"email": notifications.email_choices(request.user)})


class PartFollowView(APIView):
    """Following a part: you are notified when it is completed."""

    def _part(self, pk):
        return get_object_or_404(Part, pk=pk)

    @extend_schema(responses=FollowSerializer, summary="Whether you follow the part")
    def get(self, request, pk):
        return Response({"following": Follow.objects.filter(user=request.user, part=self._part(pk)).exists()})

    @extend_schema(request=None, responses=FollowSerializer, summary="Follow the part")
    def post(self, request, pk):
        notifications.part_follow(user=request.user, part=self._part(pk))
        return Response({"following": True})

    @extend_schema(request=None, responses=FollowSerializer, summary="Stop following the part")
    def delete(self, request, pk):
        notifications.part_unfollow(user=request.user, part=self._part(pk))
        return Response({"following": False})


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Webhook endpoints (leads only): where events are sent, signed with each endpoint's secret."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsLead]
    queryset = WebhookEndpoint.objects.select_related("created_by")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = None

    def perform_create(self, serializer):
        serializer.instance = webhooks.endpoint_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = webhooks.endpoint_update(
            endpoint=serializer.instance, actor=self.request.user, **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        webhooks.endpoint_delete(endpoint=instance, actor=self.request.user)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer},
                   summary="Send the endpoint a test event now (webhook.test); its outcome is in the delivery log")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = webhooks.test_event_send(endpoint=self.get_object(), actor=request.user)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WebhookDeliverySerializer(many=True),
                   summary="The delivery log: each message sent to the endpoint and each attempt, newest first")
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        deliveries = self.get_object().deliveries.prefetch_related("attempt_log")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
