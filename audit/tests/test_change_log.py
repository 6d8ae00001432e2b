"""django-auditlog records who changed parts, revisions, users, groups and API keys, and no secrets."""

import json

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from conftest import client_for
from files.models import Revision
from files.tests.helpers import post_file
from files.tests.samples import box_step
from partsite.models import ApiKey
from partsite.services import apikey_create, apikey_revoke, user_create, user_set_role
from parts.models import Part
from parts.tests.factories import make_part

User = get_user_model()


def entries_for(obj, action=None):
    entries = LogEntry.objects.get_for_object(obj).select_related("actor")
    return entries.filter(action=action) if action is not None else entries


def test_an_edit_through_an_api_key_names_the_keys_owner(as_fabricator, fabricator):
    part = as_fabricator.post("/api/parts/", {"name": "Bracket", "material": "Steel"}, format="json").json()

    as_fabricator.patch(f"/api/parts/{part['id']}/", {"material": "Brass"}, format="json")

    part = Part.objects.get(pk=part["id"])
    [created] = entries_for(part, LogEntry.Action.CREATE)
    [changed] = entries_for(part, LogEntry.Action.UPDATE)
    assert created.actor == fabricator and changed.actor == fabricator
    assert changed.changes_dict["material"] == ["Steel", "Brass"]


def test_an_edit_through_a_session_names_the_signed_in_user(lead):
    part = make_part(material="Steel")
    client = Client()
    client.force_login(lead)

    client.patch(f"/api/parts/{part.pk}/", json.dumps({"material": "Brass"}), content_type="application/json")

    assert entries_for(part, LogEntry.Action.UPDATE).get().actor == lead


def test_a_lifecycle_move_through_an_api_key_names_the_actor(as_lead, lead):
    part = make_part(type="hand")

    as_lead.post(f"/api/parts/{part.pk}/approve/")

    [entry] = entries_for(part, LogEntry.Action.UPDATE)
    assert entry.actor == lead
    assert entry.changes_dict["status"] == ["pending", "reviewed"]


def test_the_parts_update_time_alone_is_not_a_change(as_fabricator):
    part = make_part()

    post_file(as_fabricator, part, box_step())

    assert not entries_for(part, LogEntry.Action.UPDATE).exists()


def test_uploading_and_deleting_a_revision_name_who_did_it(as_fabricator, fabricator, as_lead, lead):
    revision = post_file(as_fabricator, make_part(), box_step(), "gusset.step").json()
    as_lead.delete(f"/api/revisions/{revision['id']}/")

    entries = LogEntry.objects.filter(object_pk=str(revision["id"]), content_type__model="revision")
    assert [(entry.action, entry.actor) for entry in entries.order_by("timestamp", "id")] == [
        (LogEntry.Action.CREATE, fabricator), (LogEntry.Action.DELETE, lead),
    ]


def test_creating_a_user_and_changing_their_role_is_recorded_without_the_password(db):
    user = user_create(username="frank", role="viewer", password="frank-very-secret-pw")
    user_set_role(user=user, role="fabricator")

    entries = list(entries_for(user))
    assert {entry.action for entry in entries} >= {LogEntry.Action.CREATE, LogEntry.Action.UPDATE}
    operations = [entry.changes_dict.get("groups") for entry in entries if "groups" in entry.changes_dict]
    assert {"type": "m2m", "operation": "add", "objects": ["fabricator"]} in operations
    assert {"type": "m2m", "operation": "delete", "objects": ["viewer"]} in operations
    everything = " ".join(f"{entry.changes} {entry.changes_text} {entry.serialized_data}" for entry in entries)
    assert "password" not in everything
    assert user.password not in everything and "frank-very-secret-pw" not in everything


def test_signing_in_is_not_a_change_of_the_user(lead):
    Client().login(username="alice", password="alice-secret-pw")

    assert not entries_for(lead, LogEntry.Action.UPDATE).filter(changes__has_key="last_login").exists()


def test_a_change_to_a_groups_permissions_is_recorded(db):
    from django.contrib.auth.models import Permission

    group = Group.objects.create(name="inspectors")
    group.permissions.add(Permission.objects.get(codename="view_part"))

    [entry] = entries_for(group, LogEntry.Action.UPDATE)
    assert entry.changes_dict["permissions"]["operation"] == "add"


def test_an_api_key_is_recorded_without_its_secret_or_hash_and_its_revocation_names_who(lead, viewer):
    api_key, key = apikey_create(user=viewer, name="laptop")
    from auditlog.context import set_actor

    with set_actor(lead):
        apikey_revoke(api_key=api_key)

    entries = list(entries_for(api_key))
    assert [entry.action for entry in sorted(entries, key=lambda e: e.pk)] == [
        LogEntry.Action.CREATE, LogEntry.Action.UPDATE,
    ]
    revoked = entries[0] if entries[0].action == LogEntry.Action.UPDATE else entries[1]
    assert revoked.actor == lead and "revoked_at" in revoked.changes_dict
    everything = " ".join(f"{entry.changes} {entry.changes_text} {entry.object_repr}" for entry in entries)
    secret = key.split(".", 1)[1]
    assert secret not in everything
    assert ApiKey.objects.get(pk=api_key.pk).hashed_key not in everything
    assert "hashed_key" not in everything


def test_revoking_a_key_in_the_admin_names_the_lead(client, lead, viewer):
    api_key, _ = apikey_create(user=viewer)
    client.force_login(lead)

    client.post("/admin/partsite/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})

    assert entries_for(api_key, LogEntry.Action.UPDATE).get().actor == lead


def test_a_revision_change_made_by_a_fabricators_key_is_theirs_not_the_last_requests(as_fabricator, fabricator,
                                                                                        as_viewer):
    part = make_part()
    as_viewer.get("/api/parts/")
    revision = post_file(as_fabricator, part, box_step()).json()
    as_viewer.get(f"/api/revisions/{revision['id']}/")

    entry = entries_for(Revision.objects.get(pk=revision["id"]), LogEntry.Action.CREATE).get()
    assert entry.actor == fabricator


def test_a_key_from_another_user_in_the_same_process_does_not_leak_into_the_next_change(lead, fabricator):
    as_lead = client_for(lead)
    part = make_part()
    as_lead.get("/api/parts/")

    part.name = "Changed by a script"
    part.save()

    assert entries_for(part, LogEntry.Action.UPDATE).get().actor is None
