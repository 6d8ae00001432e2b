"""/api/notifications/: your own inbox, read and marked read; which kinds come by email; following a part."""

import pytest

from audit.models import Follow, Notification, NotificationKind
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part

NOTIFICATIONS = "/api/notifications/"


@pytest.fixture
def assigned(lead, fabricator, telling):
    part = make_part(Status.REVIEWED, part_number="P-00012", name="Bracket")
    with telling:
        services.part_assign(part=part, actor=lead, assignee=fabricator)
    return part


def test_everyone_reads_their_own_notifications_and_only_theirs(as_fabricator, as_lead, assigned):
    mine = as_fabricator.get(NOTIFICATIONS).json()
    theirs = as_lead.get(NOTIFICATIONS).json()

    assert mine["count"] == 1
    [notification] = mine["results"]
    assert notification["kind"] == "assigned"
    assert notification["title"] == "P-00012 Bracket was assigned to you"
    assert notification["link"] == f"http://127.0.0.1:8000/parts/{assigned.pk}/"
    assert notification["read_at"] is None
    assert theirs["count"] == 0
    assert as_lead.get(f"{NOTIFICATIONS}{notification['id']}/").status_code == 404


def test_marking_one_read_and_filtering_the_unread(as_fabricator, assigned):
    notification_id = as_fabricator.get(NOTIFICATIONS).json()["results"][0]["id"]

    response = as_fabricator.post(f"{NOTIFICATIONS}{notification_id}/read/")

    assert response.status_code == 200 and response.json()["read_at"] is not None
    assert as_fabricator.get(NOTIFICATIONS, {"unread": "true"}).json()["count"] == 0
    assert as_fabricator.get(NOTIFICATIONS, {"unread": "false"}).json()["count"] == 1


def test_marking_all_read(as_fabricator, assigned):
    response = as_fabricator.post(f"{NOTIFICATIONS}read-all/")

    assert response.json() == {"marked": 1}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_reading_and_choosing_which_kinds_come_by_email(as_fabricator):
    choices = as_fabricator.get(f"{NOTIFICATIONS}email-settings/").json()["email"]
    assert choices[NotificationKind.ASSIGNED] is True and NotificationKind.INFECTED not in choices

    response = as_fabricator.put(f"{NOTIFICATIONS}email-settings/", {"email": {"assigned": False}}, format="json")

    assert response.status_code == 200
    assert response.json()["email"]["assigned"] is False and response.json()["email"]["approved"] is True


def test_a_kind_someone_cannot_get_is_a_400_naming_it(as_fabricator):
    response = as_fabricator.put(f"{NOTIFICATIONS}email-settings/", {"email": {"infected": True}}, format="json")

    assert response.status_code == 400
    assert "infected" in response.json()["detail"]


def test_following_and_unfollowing_through_the_api(as_viewer, viewer):
    part = make_part()
    url = f"/api/parts/{part.pk}/follow/"

    assert as_viewer.get(url).json() == {"following": False}
    assert as_viewer.post(url).json() == {"following": True}
    assert Follow.objects.filter(user=viewer, part=part).exists()
    assert as_viewer.delete(url).json() == {"following": False}
    assert as_viewer.get("/api/parts/999999/follow/").status_code == 404


def test_no_one_without_a_role_or_credentials_reads_notifications(anonymous, roleless):
    from conftest import client_for

    assert anonymous.get(NOTIFICATIONS).status_code == 401
    assert client_for(roleless).get(NOTIFICATIONS).status_code == 403
