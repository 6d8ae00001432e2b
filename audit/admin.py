"""The audit record in the admin: file accesses and sign-in events, read-only for everyone."""

from django.contrib import admin

from audit.models import AuthEvent, FileAccess


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
