"""Roles are Django groups; a user's role decides what they may do."""

import pytest
from django.contrib.auth.models import Group

from partsite.errors import Invalid
from partsite.roles import Role, role_of
from partsite.services import user_set_role

pytestmark = pytest.mark.django_db


def test_each_role_is_a_group(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"lead", "fabricator", "viewer"}


def test_the_fixtures_users_have_their_roles(lead, fabricator, viewer, roleless):
    assert [role_of(u) for u in (lead, fabricator, viewer, roleless)] == ["lead", "fabricator", "viewer", None]


def test_a_user_in_several_groups_acts_with_the_strongest_role(viewer):
    viewer.groups.add(Group.objects.get(name="fabricator"))

    assert role_of(type(viewer).objects.get(pk=viewer.pk)) == Role.FABRICATOR


def test_a_deactivated_user_has_no_role(lead):
    lead.is_active = False

    assert role_of(lead) is None


def test_leads_may_manage_parts_and_keys_in_the_admin(lead):
    assert lead.has_perms(["parts.change_part", "parts.view_partevent", "partsite.change_apikey"])
    assert not lead.has_perm("auth.delete_group")


def test_changing_a_role_takes_effect_at_once(viewer):
    assert role_of(viewer) == Role.VIEWER

    user_set_role(user=viewer, role=Role.LEAD)

    assert role_of(viewer) == Role.LEAD
    assert viewer.is_staff
    assert list(viewer.groups.values_list("name", flat=True)) == ["lead"]


def test_demoting_a_lead_takes_away_the_admin(lead):
    user_set_role(user=lead, role=Role.FABRICATOR)

    lead.refresh_from_db()
    assert not lead.is_staff
    assert role_of(lead) == Role.FABRICATOR


def test_an_unknown_role_is_refused(viewer):
    with pytest.raises(Invalid, match="Unknown role 'admin'"):
        user_set_role(user=viewer, role="admin")

    assert role_of(viewer) == Role.VIEWER
    assert not Group.objects.filter(name="admin").exists()
