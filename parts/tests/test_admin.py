"""The parts admin: the lead's review and assignment desk."""

import pytest
from auditlog.models import LogEntry
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages

from parts.lifecycle import BADGE_COLOURS, Action, Status
from parts.models import Part, PartEvent
from parts.tests.factories import make_part, make_revision

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/parts/part/"

# The part page's read-only inlines (files, timeline) still post their formset counts.
NO_INLINE_ROWS = {
    "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0, "revisions-TOTAL_FORMS": 0, "revisions-INITIAL_FORMS": 0,
}


@pytest.fixture
def admin_client(client, lead):
    client.force_login(lead)
    return client


def change_page(part):
    return f"{CHANGELIST}{part.pk}/change/"


def run_action(client, action, parts, **form):
    return client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in parts], **form})


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("role", ["fabricator", "viewer", "roleless"])
def test_only_leads_reach_the_admin(client, request, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_list_shows_parts_with_a_coloured_status_badge(admin_client):
    make_part(name="Gusset", status=Status.REVIEWED)

    html = admin_client.get(CHANGELIST).content.decode()

    assert "Gusset" in html
    colour = BADGE_COLOURS[Status.REVIEWED]
    assert f'<span class="badge" data-badge="{colour}">Approved</span>' in html
    assert f'[data-badge="{colour}"] {{ --badge: {colour}; }}' in html  # the page's rule that paints it


def test_the_list_filters_by_status(admin_client):
    make_part(name="Waiting", status=Status.PENDING)
    make_part(name="Approved one", status=Status.REVIEWED)

    html = admin_client.get(CHANGELIST, {"status": "pending"}).content.decode()

    assert "Waiting" in html
    assert "Approved one" not in html


def test_the_list_searches_names_numbers_and_assignees(admin_client, fabricator):
    make_part(name="Gusset", part_number="DT-104")
    make_part(name="Spacer", assignee=fabricator, status=Status.IN_PROGRESS)
    make_part(name="Plate")

    def found(q):
        html = admin_client.get(CHANGELIST, {"q": q}).content.decode()
        return {name for name in ("Gusset", "Spacer", "Plate") if f">{name}<" in html}

    assert found("gusset") == {"Gusset"}
    assert found("dt-104") == {"Gusset"}
    assert found("bob") == {"Spacer"}


def test_approve_in_bulk_uses_the_lifecycle_and_reports_what_it_refused(admin_client, lead):
    waiting = [make_part(status=Status.PENDING) for _ in range(2)]
    for part in waiting:
        make_revision(part)
    done = make_part(status=Status.COMPLETED, part_number="DONE-1")

    confirm = run_action(admin_client, "approve", [*waiting, done])
    assert not PartEvent.objects.exists()  # the confirmation page tells what will happen; nothing is done yet
    assert "Refused:</strong> Cannot approve a part that is completed" in confirm.content.decode()

    response = run_action(admin_client, "approve", [*waiting, done], apply="1")

    assert response.status_code == 302
    for part in waiting:
        part.refresh_from_db()
        assert (part.status, part.reviewer) == (Status.REVIEWED, lead)
        assert PartEvent.objects.get(part=part).action == Action.APPROVE
    done.refresh_from_db()
    assert done.status == Status.COMPLETED
    assert not PartEvent.objects.filter(part=done).exists()
    assert messages_of(response)[0] == "DONE-1: Cannot approve a part that is completed; only from: in review."
    assert messages_of(response)[1:] == [
        f"{part.part_number}: In review → Approved; pins R1 {part.approved_revision.filename}" for part in waiting
    ]


def test_assign_first_asks_whom_to(admin_client):
    part = make_part(status=Status.REVIEWED)

    response = run_action(admin_client, "assign", [part])

    assert response.status_code == 200
    assert b'name="assignee"' in response.content
    part.refresh_from_db()
    assert part.status == Status.REVIEWED


def test_assign_offers_only_people_who_make_parts(admin_client, fabricator, viewer):
    part = make_part(status=Status.REVIEWED)

    html = run_action(admin_client, "assign", [part]).content.decode()

    assert ">bob<" in html and ">alice<" in html
    assert ">carol<" not in html


def test_assign_gives_the_parts_to_the_chosen_user(admin_client, fabricator):
    parts = [make_part(status=Status.REVIEWED), make_part(status=Status.ALREADY_STARTED)]
    pending = make_part(status=Status.PENDING, part_number="NEW-1")

    response = run_action(admin_client, "assign", [*parts, pending], apply="1", assignee=fabricator.pk)

    assert response.status_code == 302
    for part in parts:
        part.refresh_from_db()
        assert (part.status, part.assignee) == (Status.IN_PROGRESS, fabricator)
        assert PartEvent.objects.get(part=part).note == "Assigned to bob"
    pending.refresh_from_db()
    assert (pending.status, pending.assignee) == (Status.PENDING, None)
    assert "NEW-1: Cannot assign a part that is in review" in messages_of(response)[0]
    assert f"{parts[0].part_number}: Approved → In progress; assigned to bob" in messages_of(response)


def test_send_back_asks_for_a_reason_and_records_it(admin_client, fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    asked = run_action(admin_client, "send_back", [part])
    response = run_action(admin_client, "send_back", [part], apply="1", reason="Hole pattern changed")

    assert b'name="reason"' in asked.content
    assert response.status_code == 302
    part.refresh_from_db()
    assert (part.status, part.assignee) == (Status.PENDING, None)
    event = PartEvent.objects.get(part=part)
    assert (event.action, event.note) == (Action.SEND_BACK, "Hole pattern changed")


def test_send_back_without_a_reason_asks_again(admin_client):
    part = make_part(status=Status.REVIEWED)

    response = run_action(admin_client, "send_back", [part], apply="1", reason="")

    assert response.status_code == 200
    assert b"This field is required." in response.content
    part.refresh_from_db()
    assert part.status == Status.REVIEWED


def test_the_change_page_shows_the_timeline_read_only(admin_client, as_lead):
    part = make_part(status=Status.PENDING)
    make_revision(part)
    as_lead.post(f"/api/parts/{part.pk}/approve/", {"note": "Looks right"}, format="json")

    html = admin_client.get(change_page(part)).content.decode()

    assert "Timeline" in html
    assert "Looks right" in html
    assert 'name="events-0-note"' not in html
    assert 'name="events-0-DELETE"' not in html
    assert 'name="events-MAX_NUM_FORMS" value="0"' in html  # nothing can be added


def test_editing_in_the_admin_goes_through_the_service(admin_client):
    part = make_part(name="Bracket", part_number="DT-1", type="cnc", amount=1)
    before = part.updated_at

    response = admin_client.post(
        change_page(part),
        {"part_number": "DT-1", "name": "Wide bracket", "type": "cnc", "amount": 2, **NO_INLINE_ROWS},
    )

    assert response.status_code == 302, response.content.decode()
    part.refresh_from_db()
    assert (part.name, part.amount) == ("Wide bracket", 2)
    assert part.updated_at > before


def test_adding_in_the_admin_numbers_the_part_and_starts_its_timeline(admin_client, lead):
    response = admin_client.post(
        f"{CHANGELIST}add/",
        {"part_number": "", "name": "Gusset", "type": "hand", "amount": 1, **NO_INLINE_ROWS},
    )

    assert response.status_code == 302, response.content.decode()
    part = Part.objects.get(name="Gusset")
    assert part.part_number == "P-00001"
    assert part.created_by == lead
    assert PartEvent.objects.get(part=part).action == Action.CREATE


def test_the_history_shows_each_field_change(admin_client, as_lead):
    part = as_lead.post("/api/parts/", {"name": "Bracket", "material": "Steel"}, format="json").json()
    as_lead.patch(f"/api/parts/{part['id']}/", {"material": "6061 aluminium"}, format="json")

    response = admin_client.get(f"{CHANGELIST}{part['id']}/auditlog/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Steel" in html and "6061 aluminium" in html
    change = LogEntry.objects.get_for_object(Part.objects.get(pk=part["id"])).filter(action=LogEntry.Action.UPDATE)
    assert change.get().actor.username == "alice"


def test_the_part_page_shows_its_files_and_which_revision_was_approved(as_lead, as_fabricator, lead):
    from django.test import Client

    from files.tests.helpers import post_file
    from files.tests.samples import box_step

    part = make_part()
    first = post_file(as_fabricator, part, box_step(10, 10, 10), "first.step").json()
    as_lead.post(f"/api/parts/{part.pk}/approve/", {"revision": first["id"]})
    post_file(as_fabricator, part, box_step(20, 10, 10), "second.step")
    client = Client()
    client.force_login(lead)

    page = client.get(f"/admin/parts/part/{part.pk}/change/").content.decode()

    approved = page.split("Approved revision")[1].split("Latest STEP revision")[0]
    latest = page.split("Latest STEP revision")[1].split("Built from")[0]
    assert "R1 first.step" in approved
    assert "R2 second.step" in latest
    assert page.count("/download/") >= 4  # both files in the list, and the two revisions above
