"""Roles are Django groups. A user's role decides everything they may do."""

from django.contrib.auth.models import Group
from django.db import models
from rest_framework.permissions import BasePermission


class Role(models.TextChoices):
    LEAD = "lead", "Lead"
    FABRICATOR = "fabricator", "Fabricator"
    VIEWER = "viewer", "Viewer"


# A user in several groups acts with the strongest role.
_STRENGTH = [Role.LEAD, Role.FABRICATOR, Role.VIEWER]


def role_of(user):
    """The user's role, or None for anonymous users and users without one."""
    if not user or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.LEAD
    cached = getattr(user, "_partsite_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    user._partsite_role = next((role for role in _STRENGTH if role in names), None)
    return user._partsite_role


def is_lead(user):
    return role_of(user) == Role.LEAD


def role_group(role):
    group, _ = Group.objects.get_or_create(name=role)
    return group


class HasRole(BasePermission):
    """Any role may read; anonymous users get 401, users without a role 403."""

    message = "Your account has no role in Partsite; ask a lead to give you one."

    def has_permission(self, request, view):
        return role_of(request.user) is not None


class IsLead(BasePermission):
    message = "Only a lead may do this."

    def has_permission(self, request, view):
        return is_lead(request.user)


# Admin permissions of the lead group: leads run review and assignment in the admin.
LEAD_ADMIN_PERMISSIONS = {
    "parts": ("part", "partevent", "material"),
    "files": None,
    "audit": ("fileaccess", "authevent", "webhookendpoint", "webhookdelivery", "webhookattempt"),
    "partsite": ("apikey",),
    "auditlog": ("logentry",),
    "auth": ("user",),
    "axes": ("accessattempt",),  # lockouts: deleting one lifts it
}


def ensure_role_groups(**kwargs):
    """Create the role groups and keep the lead group's admin permissions current (after each migrate)."""
    from django.contrib.auth.models import Permission

    for role in Role:
        role_group(role)
    lead_permissions = Permission.objects.none()
    for app_label, models_ in LEAD_ADMIN_PERMISSIONS.items():
        permissions = Permission.objects.filter(content_type__app_label=app_label)
        if models_:
            permissions = permissions.filter(content_type__model__in=models_)
        lead_permissions |= permissions
    role_group(Role.LEAD).permissions.set(lead_permissions)
