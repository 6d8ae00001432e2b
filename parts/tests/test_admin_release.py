"""The lead's desk in the admin: a part's page with its moves as buttons, its revisions and history;
the list with its markers, filters and bulk moves with a confirmation; deletes through the API's service."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages

from files.models import ConversionStatus, Revision
from files.tests.helpers import post_file, stored_keys
from files.tests.samples import box_step
from parts.lifecycle import BADGE_COLOURS, Action, Status
from parts.models import Part, PartEvent
from parts.tests.factories import make_part, make_revision

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/parts/part/"
NO_INLINE_ROWS = {
    "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0, "revisions-TOTAL_FORMS": 0, "revisions-INITIAL_FORMS": 0,
}


@pytest.fixture
def desk(client, lead):
    client.force_login(lead)
    return client


def page_of(part):
    return f"{CHANGELIST}{part.pk}/change/"


def button(part, action):
    return f"{CHANGELIST}{part.pk}/actions/{action}/"


def run_action(client, action, parts, **form):
    return client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in parts], **form})


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# A part's page: status, buttons for the moves this lead may make, revisions, history


def test_the_page_shows_the_status_and_a_button_per_move_the_lead_may_make(desk):
    part = make_part(status=Status.PENDING)

    html = desk.get(page_of(part)).content.decode()

    assert f'data-badge="{BADGE_COLOURS[Status.PENDING]}">In review</span>' in html
    assert 'data-tool-name="approve"' in html and 'data-tool-name="retire"' in html
    assert 'data-tool-name="send_back"' not in html and 'data-tool-name="claim"' not in html
    assert f'action="{button(part, "approve")}"' in html
    assert f'href="/parts/{part.pk}/"' in html  # View on site


def test_approve_asks_which_revision_showing_each_ones_preview_number_filename_and_state(desk):
    part = make_part()
    make_revision(part, preview_key="previews/r1abc.png")
    make_revision(part, conversion_status=ConversionStatus.FAILED, conversion_error="No solid")

    html = desk.post(button(part, "approve")).content.decode()

    r1 = part.revisions.get(number=1)
    assert f'src="/api/revisions/{r1.pk}/preview/?v=r1abc"' in html
    assert f"<strong>R1</strong> {r1.filename}" in html and ">Ready<" in html
    assert "<strong>R2</strong>" in html and ">Failed<" in html and "No solid" in html
    part.refresh_from_db()
    assert part.status == Status.PENDING


def test_approving_a_chosen_revision_from_the_page_pins_it(desk, lead):
    part = make_part()
    r1, r2 = make_revision(part), make_revision(part)
    make_revision(part)

    response = desk.post(button(part, "approve"), {"apply": "1", "revision": r2.pk, "note": "R3 is a draft"})

    assert response.status_code == 302 and response["Location"] == page_of(part)
    part.refresh_from_db()
    assert (part.status, part.approved_revision, part.reviewer) == (Status.REVIEWED, r2, lead)
    assert messages_of(response) == [f"{part.part_number}: In review → Approved; pins R2 {r2.filename}"]
    html = desk.get(page_of(part)).content.decode()
    assert "R3 is newer than the approved R2" in html


def test_the_page_tells_why_a_failed_model_was_not_approved(desk):
    part = make_part()
    make_revision(part, conversion_status=ConversionStatus.FAILED)

    response = desk.post(button(part, "approve"), {"apply": "1", "revision": ""})

    assert messages_of(response) == [
        f"{part.part_number}: R1's 3D model failed to convert; choose R1 by name to approve it anyway."]
    part.refresh_from_db()
    assert part.status == Status.PENDING


def test_assign_from_the_page_asks_whom_and_assigns(desk, fabricator, viewer):
    part = make_part(status=Status.REVIEWED)

    asked = desk.post(button(part, "assign")).content.decode()
    assert ">bob<" in asked and ">carol<" not in asked

    desk.post(button(part, "assign"), {"apply": "1", "assignee": fabricator.pk})

    part.refresh_from_db()
    assert (part.status, part.assignee) == (Status.IN_PROGRESS, fabricator)


@pytest.mark.parametrize("action,status", [
    ("send_back", Status.REVIEWED), ("retire", Status.PENDING), ("revert", Status.COMPLETED),
    ("mark_incorrect", Status.COMPLETED),
])
def test_a_move_that_needs_a_reason_asks_for_it_and_records_it(desk, fabricator, action, status):
    part = make_part(status=status, assignee=fabricator if status == Status.COMPLETED else None)

    again = desk.post(button(part, action), {"apply": "1", "reason": "  "})
    assert "This field is required." in again.content.decode()
    part.refresh_from_db()
    assert part.status == status

    desk.post(button(part, action), {"apply": "1", "reason": "Hole pattern changed"})

    assert PartEvent.objects.get(part=part, action=action).note == "Hole pattern changed"


def test_restore_from_the_page(desk):
    part = make_part(status=Status.RETIRED)

    desk.post(button(part, "restore"), {"apply": "1", "note": ""})

    part.refresh_from_db()
    assert part.status == Status.PENDING


def test_a_move_the_part_is_not_in_a_state_for_is_refused(desk):
    part = make_part(status=Status.PENDING)

    response = desk.post(button(part, "claim"))

    assert messages_of(response) == [f"You may not claim {part.part_number} now."]
    part.refresh_from_db()
    assert part.status == Status.PENDING


@pytest.mark.parametrize("role", ["fabricator", "viewer", "roleless"])
def test_only_leads_reach_the_buttons(client, request, role):
    part = make_part()
    make_revision(part)
    client.force_login(request.getfixturevalue(role))

    response = client.post(button(part, "approve"), {"apply": "1"})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    part.refresh_from_db()
    assert part.status == Status.PENDING


def test_anonymous_is_sent_to_sign_in(client):
    part = make_part()

    response = client.post(button(part, "retire"), {"apply": "1", "reason": "x"})

    assert response["Location"].startswith("/admin/login/")


def test_the_revisions_show_previews_conversion_state_and_reason_downloads_and_the_3d_view(desk):
    part = make_part()
    ready = make_revision(part, preview_key="previews/r1abc.png")
    failed = make_revision(part, conversion_status=ConversionStatus.FAILED, conversion_error="Timed out after 120 s")

    html = desk.get(page_of(part)).content.decode()

    assert f'src="{ready.preview_url}"' in html
    assert "Timed out after 120 s" in html
    assert f"/api/revisions/{ready.pk}/download/" in html and f"/api/revisions/{failed.pk}/download/" in html
    assert f'href="/parts/{part.pk}/#viewer">3D view</a>' in html


def test_the_timeline_and_history_read_as_words_with_names(desk, as_lead, fabricator):
    part = make_part(status=Status.REVIEWED)
    as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": "bob"}, format="json")

    html = desk.get(page_of(part)).content.decode()

    assert "Assign: approved → in progress" in html
    assert "-&gt; in_progress" not in html and "reviewed -> in_progress" not in html
    timeline = html.split('id="events-heading"')[1]
    assert "alice" in timeline


def test_the_change_log_names_people_not_ids(desk, as_lead, fabricator):
    from auditlog.models import LogEntry

    part = make_part(status=Status.REVIEWED)
    as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": "bob"}, format="json")

    change = LogEntry.objects.get_for_object(part).filter(action=LogEntry.Action.UPDATE).get()
    assert change.changes_dict["assignee"] == ["None", "bob"]


# Editing a released part in the admin


def test_a_released_fields_change_needs_a_reason_in_the_admin_too(desk):
    part = make_part(status=Status.REVIEWED, part_number="DT-1", amount=2)
    form = {"part_number": "DT-1", "name": "Bracket", "type": "cnc", "amount": 5, "material": part.material,
            "material_thickness": part.material_thickness, "subsystem": part.subsystem, **NO_INLINE_ROWS}

    refused = desk.post(page_of(part), form)

    assert refused.status_code == 302 and refused["Location"] == page_of(part)
    assert "give a reason" in messages_of(refused)[0]
    part.refresh_from_db()
    assert part.amount == 2

    desk.post(page_of(part), {**form, "reason": "Spares for the practice robot"})

    part.refresh_from_db()
    assert part.amount == 5
    assert PartEvent.objects.get(part=part, action=Action.EDIT_RELEASED).note == (
        "Spares for the practice robot (amount 2 → 5)")


# Delete: single and bulk, through the API's service


@pytest.fixture
def failed_upload(as_fabricator):
    """A part in review whose only revision failed to convert."""
    part = make_part(part_number="P-00031")
    post_file(as_fabricator, part, box_step(), "bad.step")
    Revision.objects.filter(part=part).update(conversion_status=ConversionStatus.FAILED)
    return part


def test_a_part_with_unpinned_files_is_deleted_with_them(desk, failed_upload, django_capture_on_commit_callbacks):
    asked = desk.get(f"{CHANGELIST}{failed_upload.pk}/delete/").content.decode()
    assert "R1 bad.step" in asked and "protected" not in asked

    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(f"{CHANGELIST}{failed_upload.pk}/delete/", {"post": "yes"})

    assert response["Location"] == CHANGELIST
    assert messages_of(response) == ["Deleted P-00031 and its files."]
    assert not Part.objects.filter(pk=failed_upload.pk).exists()
    assert not Revision.objects.exists()
    assert stored_keys() == []


def test_a_part_with_a_pinned_revision_is_not_deleted_but_to_be_retired(desk, as_lead):
    part = make_part(part_number="P-00040")
    make_revision(part)
    as_lead.post(f"/api/parts/{part.pk}/approve/")

    for response in (desk.get(f"{CHANGELIST}{part.pk}/delete/"),
                     desk.post(f"{CHANGELIST}{part.pk}/delete/", {"post": "yes"})):
        assert response["Location"] == page_of(part)
        assert messages_of(response)[-1] == (
            "P-00040 has an approved or built revision, so it cannot be deleted; retire it instead.")
    assert Part.objects.filter(pk=part.pk).exists()


def test_bulk_delete_confirms_per_part_then_deletes_what_it_may(desk, as_lead, failed_upload,
                                                               django_capture_on_commit_callbacks):
    pinned = make_part(part_number="P-00040")
    make_revision(pinned)
    as_lead.post(f"/api/parts/{pinned.pk}/approve/")

    asked = run_action(desk, "delete_parts", [failed_upload, pinned]).content.decode()

    assert "deleted with its 1 file" in asked
    assert "Refused:</strong> P-00040 has an approved or built revision" in asked
    assert Part.objects.count() == 2 and len(stored_keys()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(desk, "delete_parts", [failed_upload, pinned], apply="1")

    assert messages_of(response) == [
        "P-00031: deleted with its 1 file",
        "P-00040: P-00040 has an approved or built revision, so it cannot be deleted; retire it instead.",
    ]
    assert list(Part.objects.values_list("part_number", flat=True)) == ["P-00040"]
    assert stored_keys() == []


def test_djangos_own_bulk_delete_is_not_offered(desk):
    make_part()

    html = desk.get(CHANGELIST).content.decode()

    assert 'value="delete_selected"' not in html
    assert 'value="delete_parts"' in html


# The list: markers, filters, bulk moves with a confirmation


@pytest.fixture
def shop(as_lead):
    """An approved part with a newer revision, one whose latest model failed, and one with no model."""
    newer = make_part(part_number="P-00010", name="Newer one")
    make_revision(newer, preview_key="previews/p10abc.png")
    as_lead.post(f"/api/parts/{newer.pk}/approve/")
    make_revision(newer)
    failed = make_part(part_number="P-00020", name="Failed one")
    make_revision(failed, conversion_status=ConversionStatus.FAILED)
    bare = make_part(part_number="P-00031", name="Bare one")
    return newer, failed, bare


def test_the_list_marks_newer_revisions_and_failed_conversions_and_shows_previews(desk, shop):
    newer = shop[0]

    html = desk.get(CHANGELIST).content.decode()

    assert "R2 newer than approved R1" in html
    assert "R1 conversion failed" in html
    assert f'src="{newer.approved_revision.preview_url if newer.approved_revision else ""}' in html or \
        f'/api/revisions/{newer.revisions.get(number=1).pk}/preview/?v=p10abc' in html


@pytest.mark.parametrize("query,shown", [
    ({"newer_revision": "yes"}, {"Newer one"}),
    ({"newer_revision": "no"}, {"Failed one", "Bare one"}),
    ({"conversion_failed": "yes"}, {"Failed one"}),
    ({"queue": "review"}, {"Failed one", "Bare one"}),
    ({"queue": "cnc"}, {"Newer one"}),
])
def test_the_list_filters_by_marker_and_queue(desk, shop, query, shown):
    html = desk.get(CHANGELIST, query).content.decode()

    assert {name for name in ("Newer one", "Failed one", "Bare one") if f">{name}<" in html} == shown


def test_bulk_approve_tells_per_part_what_will_happen_then_what_happened(desk, shop):
    _, failed, bare = shop
    good = make_part(part_number="P-00050")
    r1 = make_revision(good)

    asked = run_action(desk, "approve", [failed, bare, good]).content.decode()

    assert f"In review → Approved; pins R1 {r1.filename}" in asked
    assert "R1&#x27;s 3D model failed to convert" in asked
    assert "Refused:</strong> no STEP revision" in asked
    assert not PartEvent.objects.filter(part__in=[failed, bare, good]).exists()

    response = run_action(desk, "approve", [failed, bare, good], apply="1")

    assert messages_of(response) == [
        "P-00020: R1's 3D model failed to convert; choose R1 by name to approve it anyway.",
        "P-00031: no STEP revision; a CNC part is approved with the model it is cut from.",
        f"P-00050: In review → Approved; pins R1 {r1.filename}",
    ]
    assert list(Part.objects.filter(status=Status.REVIEWED).values_list("part_number", flat=True).order_by(
        "part_number")) == ["P-00010", "P-00050"]


def test_bulk_retire_asks_for_a_reason_then_previews(desk, shop):
    newer, failed, _ = shop

    asked = run_action(desk, "retire", [newer, failed]).content.decode()
    assert 'name="reason"' in asked and "What will happen" not in asked

    previewed = run_action(desk, "retire", [newer, failed], preview="1", reason="Robot scrapped").content.decode()
    assert "Approved → Retired" in previewed and "In review → Retired" in previewed

    run_action(desk, "retire", [newer, failed], apply="1", reason="Robot scrapped")

    assert set(Part.objects.filter(status=Status.RETIRED).values_list("pk", flat=True)) == {newer.pk, failed.pk}


def test_bulk_send_back_releases_the_pins(desk, shop):
    newer = shop[0]

    run_action(desk, "send_back", [newer], apply="1", reason="Redesign")

    newer.refresh_from_db()
    assert (newer.status, newer.approved_revision) == (Status.PENDING, None)


def test_a_part_that_is_not_there_is_not_an_error(desk):
    assert desk.get(f"{CHANGELIST}999999/change/").status_code == 302
    assert desk.get(f"{CHANGELIST}nonsense/change/").status_code == 302
