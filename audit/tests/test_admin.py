"""The audit record in the admin: readable by leads, changeable by no one, superusers included."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model

from audit.models import AuthEvent, FileAccess

RECORDS = {
    "auditlog/logentry": lambda: LogEntry.objects.first(),
    "audit/authevent": lambda: AuthEvent.objects.create(event="login", username="alice", detail="signed in"),
    "audit/fileaccess": lambda: FileAccess.objects.create(access="download", what="a file"),
}


@pytest.fixture(params=["lead", "superuser"])
def admin_user(request, lead):
    if request.param == "lead":
        return lead
    return get_user_model().objects.create_superuser("root", password="root-secret-pw")


@pytest.mark.parametrize("model", RECORDS)
def test_no_one_may_add_change_or_delete_a_record(client, admin_user, model):
    record = RECORDS[model]()
    model_class = type(record)
    client.force_login(admin_user)

    assert client.get(f"/admin/{model}/").status_code == 200
    assert client.get(f"/admin/{model}/add/").status_code == 403
    assert client.post(f"/admin/{model}/{record.pk}/change/", {}).status_code == 403
    assert client.post(f"/admin/{model}/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"/admin/{model}/", {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"})
    assert model_class.objects.filter(pk=record.pk).exists()


def test_leads_see_sign_in_events_in_the_admin(client, lead):
    AuthEvent.objects.create(event="login_failed", username="mallory", detail="wrong username or password")
    client.force_login(lead)

    html = client.get("/admin/audit/authevent/").content.decode()

    assert "mallory" in html and "wrong username or password" in html


def test_the_part_admin_shows_the_parts_history(client, lead, as_lead):
    part = as_lead.post("/api/parts/", {"name": "Bracket", "material": "Steel"}, format="json").json()
    as_lead.patch(f"/api/parts/{part['id']}/", {"material": "Brass"}, format="json")
    client.force_login(lead)

    html = client.get(f"/admin/parts/part/{part['id']}/change/").content.decode()

    assert "Field changes, moves, revisions and file accesses" in html
    assert "Changed material from “Steel” to “Brass”" in html


def test_a_part_being_added_in_the_admin_has_no_history_yet(client, lead):
    client.force_login(lead)

    assert client.get("/admin/parts/part/add/").status_code == 200
