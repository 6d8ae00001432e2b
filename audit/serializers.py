from rest_framework import serializers

from audit.selectors import ACTIONS, HISTORY_KINDS, KINDS, OBJECT_TYPE_CHOICES


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
