from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import render
from django.utils.html import format_html

from partsite.models import ApiKey
from partsite.roles import Role, role_of
from partsite.services import apikey_create, apikey_revoke, user_set_role

admin.site.site_header = "Partsite"
admin.site.site_title = "Partsite admin"
admin.site.index_title = "Review, assign and keep the record"

User = get_user_model()
NO_ROLE = ""


def badge(colour, label):
    """A status as a coloured pill, for list and detail pages (templates/admin/base_site.html styles it)."""
    return format_html('<span class="badge" data-badge="{}">{}</span>', colour, label)


class RoleField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=[(NO_ROLE, "No role (may sign in, may do nothing)"), *Role.choices], required=False,
            help_text="What the person may do in Partsite. Leads can use this admin.", **kwargs,
        )


class PartsiteUserChangeForm(UserAdmin.form):
    role = RoleField()


class PartsiteUserCreationForm(UserAdmin.add_form):
    role = RoleField()


admin.site.unregister(User)


@admin.register(User)
class PartsiteUserAdmin(UserAdmin):
    """People and their role. The role is set through partsite.services.user_set_role, as
    `manage.py createuser` sets it, so that leads are staff and no one else is."""

    form = PartsiteUserChangeForm
    add_form = PartsiteUserCreationForm
    list_display = ["username", "role", "email", "is_active", "last_login"]
    list_filter = ["groups", "is_active", "is_superuser"]
    readonly_fields = ["is_staff", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Role", {"fields": ["role", "is_active", "is_staff"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "usable_password", "password1", "password2", "role"]}),
    ]

    @admin.display(description="Role")
    def role(self, user):
        role = role_of(user) if user.is_active else None
        return Role(role).label if role else "-"

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form.base_fields["role"].initial = next(
                (group for group in obj.groups.values_list("name", flat=True) if group in Role.values), NO_ROLE,
            )
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "role" in form.cleaned_data:
            user_set_role(user=form.instance, role=form.cleaned_data["role"] or None)


class ApiKeyCreationForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["user", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Leads make keys here (the key is shown once, on the page after Save) and revoke them."""

    list_display = ["id", "user", "name", "lookup", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "lookup"]
    readonly_fields = ["user", "name", "lookup", "created_at", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False  # a key is made and revoked, never edited

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        api_key, key = apikey_create(user=form.cleaned_data["user"], name=form.cleaned_data["name"])
        obj.pk, obj.lookup, obj.created_at = api_key.pk, api_key.lookup, api_key.created_at
        request.partsite_new_key = key

    def response_add(self, request, obj, post_url_continue=None):
        """The key itself, on this page only: it is not stored, so it cannot be shown again."""
        return render(request, "admin/partsite/apikey/created.html", {
            **self.admin_site.each_context(request), "title": f"API key for {obj.user.username}",
            "api_key": obj, "key": request.partsite_new_key, "opts": ApiKey._meta,
        })

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            apikey_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)
