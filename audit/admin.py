"""The audit record in the admin: file accesses and sign-in events, read-only for everyone; and the
webhook endpoints leads register, with their delivery log."""

from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from audit import webhooks
from audit.models import AuthEvent, FileAccess, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from partsite.errors import DomainError
from partsite.models import EventType


class RecordAdmin(admin.ModelAdmin):
    """A record: shown, never added, changed or deleted, superusers included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FileAccess)
class FileAccessAdmin(RecordAdmin):
    """Who downloaded or previewed which file. A record, so nothing here can be changed."""

    list_display = ["at", "user", "access", "what", "client_address"]
    list_filter = ["access", "at"]
    search_fields = ["what", "user__username", "client_address"]
    list_select_related = ["user"]
    date_hierarchy = "at"


@admin.register(AuthEvent)
class AuthEventAdmin(RecordAdmin):
    """Sign-ins, failed sign-ins and refused API keys. A record, so nothing here can be changed."""

    list_display = ["at", "event", "username", "detail", "client_address"]
    list_filter = ["event", "at"]
    search_fields = ["username", "detail", "client_address"]
    date_hierarchy = "at"


# The endpoint's page shows its newest deliveries; all of them are under Webhook deliveries.
RECENT_DELIVERIES = 20


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this endpoint; none ticked means every one.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Enabled",
        help_text="Tick to enable an endpoint that was disabled; its count of failures starts afresh.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types"]

    def clean_url(self):
        try:
            webhooks.check_url(self.cleaned_data["url"])
        except DomainError as refused:
            raise forms.ValidationError(refused.message) from None
        return self.cleaned_data["url"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Leads register where events are sent; saving, enabling and test events go through audit.webhooks."""

    form = WebhookEndpointForm
    list_display = ["url", "description", "is_active", "types", "consecutive_failures", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "secret", "consecutive_failures", "disabled_at", "disabled_reason", "created_by", "created_at",
        "recent_deliveries",
    ]
    actions = ["send_test_event", "enable"]
    change_form_template = "admin/audit/webhookendpoint/change_form.html"

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types"]
        return fields + ["is_active", *self.readonly_fields] if obj else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["is_active"].initial = obj.is_active
        return form

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, endpoint):
        rows = format_html_join("", "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (reverse("admin:audit_webhookdelivery_change", args=[delivery.pk]),
             f"{timezone.localtime(delivery.created_at):%Y-%m-%d %H:%M:%S}", delivery.event_type,
             delivery.get_status_display(), delivery.attempts, delivery.error or "")
            for delivery in endpoint.deliveries.order_by("-created_at")[:RECENT_DELIVERIES]
        ))
        return format_html(
            "<table><thead><tr><th>When</th><th>Event</th><th>Status</th><th>Attempts</th><th>Last error</th></tr>"
            "</thead><tbody>{}</tbody></table>", rows,
        ) if rows else "None yet."

    @admin.display(description="Events")
    def types(self, endpoint):
        return ", ".join(endpoint.event_types) or "every one"

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("url", "description", "event_types")}
        if change:
            webhooks.endpoint_update(endpoint=obj, actor=request.user, is_active=form.cleaned_data["is_active"], **fields)
        else:
            obj.pk = webhooks.endpoint_create(actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        webhooks.endpoint_delete(endpoint=obj, actor=request.user)

    def response_change(self, request, obj):
        if "_send_test" in request.POST:
            self.send_test_event(request, WebhookEndpoint.objects.filter(pk=obj.pk))
            return redirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Send a test event to the selected endpoints")
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            webhooks.test_event_send(endpoint=endpoint, actor=request.user)
        self.message_user(request, f"Test event queued for {queryset.count()} endpoint(s); see its delivery log.")

    @admin.action(description="Enable the selected endpoints")
    def enable(self, request, queryset):
        for endpoint in queryset:
            webhooks.endpoint_update(endpoint=endpoint, actor=request.user, is_active=True)
        self.message_user(request, f"Enabled {queryset.count()} endpoint(s).")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "at", "succeeded", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordAdmin):
    """The delivery log: each message to each endpoint and each attempt at it. Read-only."""

    list_display = ["created_at", "endpoint", "event_type", "status", "attempts", "next_attempt_at", "error"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["message_id", "endpoint__url", "error"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    fields = ["endpoint", "event_type", "message_id", "status", "attempts", "next_attempt_at", "created_at",
              "finished_at", "error", "body"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
