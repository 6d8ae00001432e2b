import json

from rest_framework import serializers

from audit.models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from audit.selectors import ACTIONS, HISTORY_KINDS, KINDS, OBJECT_TYPE_CHOICES
from partsite.events import absolute_url
from partsite.models import EventType
from partsite.serializers import Username


class AuditEntrySerializer(serializers.Serializer):
    """One row of audit.selectors.audit_feed, with its field changes when it is a change."""

    id = serializers.SerializerMethodField(help_text='Unique in the feed: "<kind>-<id in its own record>".')
    kind = serializers.ChoiceField(choices=KINDS)
    at = serializers.DateTimeField(source="occurred_at")
    action = serializers.ChoiceField(source="action_name", choices=ACTIONS)
    actor = serializers.CharField(source="actor_name", allow_null=True, help_text="Username; null for the system.")
    object_type = serializers.ChoiceField(choices=OBJECT_TYPE_CHOICES)
    object_id = serializers.CharField(source="object_key", allow_null=True)
    summary = serializers.CharField()
    client_address = serializers.CharField(source="address", allow_null=True)
    changes = serializers.JSONField(
        allow_null=True, help_text="For changes: {field: [old, new]} as django-auditlog recorded them.",
    )

    def get_id(self, row) -> str:
        return f"{row['kind']}-{row['entry_id']}"


class HistoryEntrySerializer(serializers.Serializer):
    """One entry of audit.selectors.part_history."""

    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=HISTORY_KINDS)
    action = serializers.CharField()
    actor = serializers.CharField(allow_null=True)
    summary = serializers.CharField()
    details = serializers.DictField()


class NotificationSerializer(serializers.ModelSerializer):
    """Something someone should know; `link` is where it is about, on this site."""

    link = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "part", "created_at", "read_at", "email_status"]
        read_only_fields = fields

    def get_link(self, notification) -> str:
        return absolute_url(notification.link) if notification.link else ""


class EmailChoicesSerializer(serializers.Serializer):
    """Which kinds of notification also come by email: {kind: true or false}, for the kinds you can get."""

    email = serializers.DictField(child=serializers.BooleanField())


class FollowSerializer(serializers.Serializer):
    following = serializers.BooleanField(help_text="Whether you are told when the part is completed.")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An endpoint other systems registered. `secret` signs every message (Standard Webhooks)."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), required=False,
        help_text="The event types sent there; empty means every one.",
    )
    is_active = serializers.BooleanField(required=False, help_text="Set true to enable a disabled endpoint.")
    created_by = Username()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "description", "event_types", "is_active", "secret", "consecutive_failures", "disabled_at",
            "disabled_reason", "created_by", "created_at",
        ]
        read_only_fields = ["secret", "consecutive_failures", "disabled_at", "disabled_reason", "created_at"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "succeeded", "status_code", "duration_ms", "error", "response_excerpt"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One message to the endpoint and each attempt at it, the delivery log."""

    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "message_id", "event_type", "status", "attempts", "next_attempt_at", "created_at", "finished_at",
            "error", "payload", "attempt_log",
        ]
        read_only_fields = fields

    def get_payload(self, delivery) -> dict:
        return json.loads(delivery.body)
