from django.contrib import admin
from django.utils.html import format_html

from partsite.models import ApiKey
from partsite.services import apikey_revoke


admin.site.site_header = "Partsite"
admin.site.site_title = "Partsite admin"
admin.site.index_title = "Review, assign and keep the record"


def badge(colour, label):
    """A status as a coloured pill, for list and detail pages (templates/admin/base_site.html styles it)."""
    return format_html('<span class="badge" data-badge="{}">{}</span>', colour, label)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py apikey create` (the key is shown once); here they are reviewed and revoked."""

    list_display = ["id", "user", "name", "lookup", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "lookup"]
    readonly_fields = ["user", "name", "lookup", "created_at", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            apikey_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
