"""Approval is a release: it pins a chosen STEP revision and the latest drawing, and freezes the
part's type, material, thickness and amount until the part is sent back. Through the API, for
each role; the pages and the admin are tested beside their own code (test_views, test_admin*)."""

import pytest

from files.models import ConversionStatus
from parts.lifecycle import Action, Status
from parts.models import PartEvent
from parts.tests.factories import make_part, make_revision

pytestmark = pytest.mark.django_db


def approve(client, part, **body):
    return client.post(f"/api/parts/{part.pk}/approve/", body, format="json")


def timeline(part, action):
    return list(PartEvent.objects.filter(part=part, action=action).values_list("note", flat=True))


# What approval pins


def test_approving_a_named_revision_pins_it_with_the_latest_drawing(as_lead):
    part = make_part()
    r1, r2, r3 = make_revision(part), make_revision(part), make_revision(part)
    make_revision(part, kind="drawing")
    d2 = make_revision(part, kind="drawing")

    body = approve(as_lead, part, revision=r2.pk, note="R3 has the wrong holes").json()

    assert (body["status"], body["approved_revision"]["label"], body["approved_drawing"]["label"]) == (
        "reviewed", "R2", "D2")
    assert body["approved_drawing"]["id"] == d2.pk
    assert body["newer_revision"]["label"] == "R3"
    assert body["latest_revision"]["label"] == "R3"
    assert timeline(part, Action.APPROVE) == [
        f"Approved R2 {r2.filename} with D2 {d2.filename}. R3 has the wrong holes"]


def test_approving_without_naming_a_revision_pins_the_latest(as_lead):
    part = make_part()
    make_revision(part)
    latest = make_revision(part)

    body = approve(as_lead, part).json()

    assert body["approved_revision"]["id"] == latest.pk
    assert body["approved_drawing"] is None
    assert body["newer_revision"] is None


def test_a_cnc_part_without_a_step_revision_is_not_approved(as_lead):
    part = make_part(type="cnc")
    make_revision(part, kind="drawing")

    response = approve(as_lead, part)

    assert response.status_code == 409
    assert response.json()["detail"] == "no STEP revision; a CNC part is approved with the model it is cut from."
    part.refresh_from_db()
    assert (part.status, part.reviewer, part.approved_drawing) == (Status.PENDING, None, None)


def test_a_hand_made_part_may_be_approved_with_its_drawing_only(as_lead):
    part = make_part(type="hand")
    drawing = make_revision(part, kind="drawing")

    body = approve(as_lead, part).json()

    assert (body["status"], body["approved_revision"], body["approved_drawing"]["id"]) == (
        "reviewed", None, drawing.pk)


@pytest.mark.parametrize("state,told", [
    (ConversionStatus.FAILED, "R2's 3D model failed to convert"),
    (ConversionStatus.PENDING, "R2 is still waiting to be converted"),
    (ConversionStatus.RUNNING, "R2 is still being converted"),
])
def test_an_unconfirmed_model_is_approved_only_when_named(as_lead, state, told):
    part = make_part()
    make_revision(part)
    unconfirmed = make_revision(part, conversion_status=state)

    refused = approve(as_lead, part)

    assert refused.status_code == 409
    assert refused.json()["detail"] == f"{told}; choose R2 by name to approve it anyway."
    part.refresh_from_db()
    assert part.status == Status.PENDING

    named = approve(as_lead, part, revision=unconfirmed.pk)

    assert named.status_code == 200
    assert named.json()["approved_revision"]["id"] == unconfirmed.pk


def test_another_parts_revision_or_a_drawing_cannot_be_approved(as_lead):
    part, other = make_part(), make_part()
    make_revision(part)
    drawing = make_revision(part, kind="drawing")
    elsewhere = make_revision(other)

    assert approve(as_lead, part, revision=elsewhere.pk).json()["revision"] == [
        f"That is not one of {part.part_number}'s STEP revisions."]
    assert approve(as_lead, part, revision=drawing.pk).json()["revision"] == [
        f"There is no STEP revision with id {drawing.pk}."]
    assert approve(as_lead, part, revision="R1").json()["revision"] == [
        "A revision is named by its id (a number)."]
    part.refresh_from_db()
    assert part.status == Status.PENDING


@pytest.mark.parametrize("role", ["fabricator", "viewer"])
def test_only_a_lead_approves(request, role):
    part = make_part()
    revision = make_revision(part)

    response = approve(request.getfixturevalue(f"as_{role}"), part, revision=revision.pk)

    assert response.status_code == 403
    part.refresh_from_db()
    assert (part.status, part.approved_revision) == (Status.PENDING, None)


def test_completion_records_the_approved_drawing_as_built(as_lead, as_fabricator):
    part = make_part()
    make_revision(part)
    drawing = make_revision(part, kind="drawing")
    approve(as_lead, part)
    make_revision(part, kind="drawing")

    as_fabricator.post(f"/api/parts/{part.pk}/claim/")
    body = as_fabricator.post(f"/api/parts/{part.pk}/complete/").json()

    assert (body["built_revision"]["label"], body["built_drawing"]["id"]) == ("R1", drawing.pk)


def test_sending_back_releases_the_pins(as_lead):
    part = make_part()
    make_revision(part)
    make_revision(part, kind="drawing")
    approve(as_lead, part)

    body = as_lead.post(f"/api/parts/{part.pk}/send_back/", {"reason": "Redesign"}, format="json").json()

    assert (body["approved_revision"], body["approved_drawing"], body["newer_revision"]) == (None, None, None)


def test_a_pinned_drawing_cannot_be_deleted(as_lead):
    part = make_part()
    make_revision(part)
    drawing = make_revision(part, kind="drawing")
    approve(as_lead, part)

    response = as_lead.delete(f"/api/revisions/{drawing.pk}/")

    assert response.status_code == 409
    assert response.json()["detail"] == "D1 is the approved revision of its part and cannot be deleted."


# The released fields are frozen


@pytest.fixture
def released(as_lead):
    part = make_part(amount=2, material="6061 aluminium", material_thickness="6 mm")
    make_revision(part)
    approve(as_lead, part)
    part.refresh_from_db()
    return part


def edit(client, part, **fields):
    return client.patch(f"/api/parts/{part.pk}/", fields, format="json")


@pytest.mark.parametrize("field,value,named", [
    ("amount", 5, "amount"), ("material", "Steel", "material"), ("material_thickness", "3 mm", "thickness"),
    ("type", "hand", "type"),
])
def test_a_fabricator_may_not_change_a_released_field_and_is_told_to_ask_a_lead(as_fabricator, released, field,
                                                                                 value, named):
    before = getattr(released, field)

    response = edit(as_fabricator, released, **{field: value})

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"{released.part_number} is approved: its {named} is released with the approval and cannot be changed "
        "now. Ask a lead.")
    released.refresh_from_db()
    assert getattr(released, field) == before


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.ALREADY_STARTED, Status.COMPLETED])
def test_the_fields_stay_frozen_in_fabrication_and_after_completion(as_fabricator, fabricator, status):
    part = make_part(status=status, assignee=fabricator, amount=2)

    response = edit(as_fabricator, part, amount=3, material_thickness="3 mm")

    assert response.status_code == 409
    assert "its thickness and amount are released" in response.json()["detail"]
    part.refresh_from_db()
    assert part.amount == 2


def test_a_fabricator_may_still_change_what_is_not_released(as_fabricator, released):
    response = edit(as_fabricator, released, notes="Deburr", storage_location="Shelf B", amount=2)

    assert response.status_code == 200
    assert response.json()["notes"] == "Deburr"


def test_a_viewer_may_change_nothing(as_viewer, released):
    assert edit(as_viewer, released, amount=5).status_code == 403


def test_a_lead_changes_a_released_field_only_with_a_reason_which_goes_on_the_timeline(as_lead, released):
    refused = edit(as_lead, released, amount=4)

    assert refused.status_code == 409
    assert refused.json()["reason"] == [
        f"{released.part_number} is approved: changing its amount is an edit of a released part; give a reason "
        "(it goes on the timeline)."]

    changed = edit(as_lead, released, amount=4, reason="Two spares for the practice robot")

    assert changed.status_code == 200
    assert (changed.json()["amount"], changed.json()["status"]) == (4, "reviewed")
    assert timeline(released, Action.EDIT_RELEASED) == ["Two spares for the practice robot (amount 2 → 4)"]
    events = as_lead.get(f"/api/parts/{released.pk}/events/").json()
    assert events[-1]["action"] == "edit_released"


def test_once_sent_back_the_fields_are_free_again(as_lead, as_fabricator, released):
    as_lead.post(f"/api/parts/{released.pk}/send_back/", {"reason": "Thicker plate"}, format="json")

    response = edit(as_fabricator, released, material_thickness="8 mm")

    assert response.status_code == 200
    assert not timeline(released, Action.EDIT_RELEASED)


# A newer upload does not move the pin; a lead re-pins


def test_a_newer_revision_is_shown_and_a_lead_approves_it_in_place_of_the_old(as_lead, released):
    r2 = make_revision(released)

    shown = as_lead.get(f"/api/parts/{released.pk}/").json()
    assert (shown["approved_revision"]["label"], shown["newer_revision"]["label"]) == ("R1", "R2")
    assert "repin" in shown["allowed_actions"]

    body = as_lead.post(f"/api/parts/{released.pk}/repin/", {"note": "Holes moved"}, format="json").json()

    assert (body["status"], body["approved_revision"]["id"], body["newer_revision"]) == ("reviewed", r2.pk, None)
    assert timeline(released, Action.REPIN) == [f"Approved R2 {r2.filename} in place of R1. Holes moved"]


def test_re_pinning_the_approved_revision_again_is_refused(as_lead, released):
    response = as_lead.post(f"/api/parts/{released.pk}/repin/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == "R1 is already the approved revision."


def test_a_lead_may_re_pin_an_older_revision_by_name(as_lead, released):
    make_revision(released)
    as_lead.post(f"/api/parts/{released.pk}/repin/", {}, format="json")
    first = released.revisions.get(number=1)

    body = as_lead.post(f"/api/parts/{released.pk}/repin/", {"revision": first.pk}, format="json").json()

    assert (body["approved_revision"]["label"], body["newer_revision"]["label"]) == ("R1", "R2")


@pytest.mark.parametrize("role", ["fabricator", "viewer"])
def test_only_a_lead_re_pins(request, released, role):
    make_revision(released)

    response = request.getfixturevalue(f"as_{role}").post(f"/api/parts/{released.pk}/repin/", {}, format="json")

    assert response.status_code == 403
    released.refresh_from_db()
    assert released.approved_revision.number == 1


def test_a_part_in_review_is_not_re_pinned_but_approved(as_lead):
    part = make_part()
    make_revision(part)

    response = as_lead.post(f"/api/parts/{part.pk}/repin/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Cannot re-approve a part that is in review; only from: already started, in progress, approved.")


def test_anonymous_may_do_nothing(anonymous, released):
    assert approve(anonymous, released).status_code in (401, 403)
    assert anonymous.post(f"/api/parts/{released.pk}/repin/", {}, format="json").status_code in (401, 403)
    assert edit(anonymous, released, amount=9).status_code in (401, 403)


# The part page: the approve form shows each revision; the page says what is newer


@pytest.fixture
def page_of(client):
    def logged_in(user):
        client.force_login(user)
        return client
    return logged_in


def test_the_approve_form_shows_each_revision_with_its_preview_number_filename_and_state(page_of, lead):
    part = make_part()
    make_revision(part, preview_key="previews/r1abc.png")
    make_revision(part, conversion_status=ConversionStatus.FAILED, conversion_error="No solid in the file")

    html = page_of(lead).get(f"/parts/{part.pk}/").content.decode()

    form = html.split('data-move="approve"')[1].split("</details>")[0]
    r1 = part.revisions.get(number=1)
    assert f'src="/api/revisions/{r1.pk}/preview/?v=r1abc"' in form
    assert f"<strong>R1</strong> {r1.filename}" in form and ">Ready<" in form
    assert "<strong>R2</strong>" in form and ">Failed<" in form and "No solid in the file" in form
    assert "The latest (R2)" in form


def test_approving_a_named_revision_on_the_page(page_of, lead):
    part = make_part()
    r1 = make_revision(part)
    make_revision(part, conversion_status=ConversionStatus.FAILED)

    response = page_of(lead).post(f"/parts/{part.pk}/move/approve/", {"revision": r1.pk, "note": ""}, follow=True)

    part.refresh_from_db()
    assert (part.status, part.approved_revision) == (Status.REVIEWED, r1)
    html = response.content.decode()
    assert "R2 is newer than the approved R1." in html
    assert f"R1 {r1.filename}</a>" in html.split('class="approved-pin"')[1]


def test_the_page_tells_why_the_latest_was_not_approved(page_of, lead):
    part = make_part()
    make_revision(part, conversion_status=ConversionStatus.FAILED)

    response = page_of(lead).post(f"/parts/{part.pk}/move/approve/", {}, follow=True)

    assert "R1&#x27;s 3D model failed to convert; choose R1 by name to approve it anyway." in response.content.decode()
    part.refresh_from_db()
    assert part.status == Status.PENDING


def test_a_fabricator_sees_the_newer_revision_and_is_told_a_lead_approves_it(page_of, fabricator, released):
    make_revision(released)

    html = page_of(fabricator).get(f"/parts/{released.pk}/").content.decode()

    assert "R2 is newer than the approved R1." in html
    assert "ask a lead to approve the newer one" in html
    assert 'data-move="repin"' not in html


def test_the_board_card_says_a_newer_revision_waits(page_of, fabricator, released):
    make_revision(released)

    html = page_of(fabricator).get("/", {"queue": "cnc"}).content.decode()

    card = html.split(f'data-part="{released.part_number}"')[1].split("</article>")[0]
    assert "R2 is newer than the approved R1" in card


def test_the_service_refuses_with_an_error_the_pages_can_show(fabricator, released):
    from partsite.errors import DomainError
    from parts.services import ReleasedFieldsFrozen, part_update

    with pytest.raises(ReleasedFieldsFrozen) as refused:
        part_update(part=released, actor=fabricator, amount=3, material="Steel")

    assert isinstance(refused.value, DomainError) and refused.value.http_status == 409
    assert refused.value.details["fields"] == ["material", "amount"]
    assert refused.value.message.endswith("its material and amount are released with the approval and cannot be "
                                          "changed now. Ask a lead.")


def test_the_lists_newer_revision_query_agrees_with_the_parts_own_answer_in_every_case():
    """The admin's filter (one query) and Part.newer_revision (what pages and the API show) say the same."""
    import itertools

    from parts.selectors import part_queryset, parts_with_newer_revision

    for status, steps, pinned in itertools.product(Status, (0, 1, 2), (None, 1, 2)):
        part = make_part(status=status)
        revisions = [make_revision(part) for _ in range(steps)]
        make_revision(part, kind="drawing")
        if pinned and pinned <= steps:
            part.approved_revision = revisions[pinned - 1]
            part.save()

    parts = part_queryset()
    by_query = set(parts_with_newer_revision(parts).values_list("pk", flat=True))
    by_part = {part.pk for part in parts if part.newer_revision is not None}
    assert by_query == by_part
    assert by_part  # some do have a newer one
