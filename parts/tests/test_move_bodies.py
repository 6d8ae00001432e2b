"""What each move takes is checked by its service, whoever calls it (the API, a page, the admin,
a command), and the page refuses a body with the API's own words."""

import pytest
from django.test import Client

from partsite.errors import Invalid
from parts import services
from parts.lifecycle import Status
from parts.models import PartEvent
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("service", [
    services.part_revert, services.part_mark_incorrect, services.part_send_back, services.part_retire,
])
def test_a_reason_of_only_spaces_is_no_reason(lead, service):
    part = make_part(status=Status.COMPLETED)

    with pytest.raises(Invalid, match="A reason is required.") as refused:
        service(part=part, actor=lead, reason="  \n ")

    assert refused.value.field == "reason"
    assert not PartEvent.objects.filter(part=part).exists()


def test_the_reason_is_kept_without_the_spaces_around_it(lead):
    part = make_part(status=Status.COMPLETED)

    services.part_revert(part=part, actor=lead, reason="  Holes too small \n")

    assert PartEvent.objects.get(part=part).note == "Holes too small"


def test_unclaiming_refuses_a_storage_location_longer_than_the_part_keeps(fabricator):
    part = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    with pytest.raises(Invalid, match="at most 200 characters"):
        services.part_unclaim(part=part, actor=fabricator, storage_location="Shelf " * 40)

    part.refresh_from_db()
    assert part.status == Status.IN_PROGRESS


def test_assigning_to_a_viewer_is_refused_before_anything_is_written(lead, viewer):
    part = make_part(status=Status.REVIEWED)

    with pytest.raises(Invalid, match="carol is not a fabricator or lead"):
        services.part_assign(part=part, actor=lead, assignee=viewer)

    part.refresh_from_db()
    assert (part.status, part.assignee) == (Status.REVIEWED, None)


def test_optional_fields_may_be_left_out(lead, fabricator):
    # A hand-made part with no file: an approval that pins nothing says nothing of its own.
    waiting = make_part(status=Status.PENDING, type="hand")
    made = make_part(status=Status.IN_PROGRESS, assignee=fabricator)

    services.part_approve(part=waiting, actor=lead)
    services.part_complete(part=made, actor=fabricator)

    assert [event.note for event in PartEvent.objects.order_by("id")] == ["", ""]


def test_a_move_does_not_take_what_it_does_not_declare(lead):
    with pytest.raises(TypeError, match="claim takes no reason"):
        services.part_claim(part=make_part(status=Status.REVIEWED), actor=lead, reason="Because")


def test_the_page_refuses_an_unknown_assignee_with_the_apis_words(lead, as_lead):
    part = make_part(status=Status.REVIEWED)
    page = Client()
    page.force_login(lead)

    on_the_page = page.post(f"/parts/{part.pk}/move/assign/", {"assignee": "nobody"}, follow=True)
    in_the_api = as_lead.post(f"/api/parts/{part.pk}/assign/", {"assignee": "nobody"}, format="json")

    assert in_the_api.json()["assignee"] == ["No active user named nobody."]
    assert "No active user named nobody." in on_the_page.content.decode()
    part.refresh_from_db()
    assert part.status == Status.REVIEWED


def test_the_page_asks_who_when_nobody_was_chosen(lead):
    part = make_part(status=Status.REVIEWED)
    page = Client()
    page.force_login(lead)

    response = page.post(f"/parts/{part.pk}/move/assign/", {"assignee": ""}, follow=True)

    assert "Choose who to assign the part to." in response.content.decode()
    part.refresh_from_db()
    assert part.status == Status.REVIEWED
