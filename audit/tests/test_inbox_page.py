"""The inbox page, its count in the header, the email settings page and following a part from its page."""

import pytest
from django.test import Client

from audit import notifications
from audit.models import Follow, Notification, NotificationKind
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def assigned(lead, fabricator, telling):
    """Two parts assigned to bob, so bob has two unread notifications."""
    parts = [make_part(Status.REVIEWED, name=name) for name in ("Bracket", "Gusset")]
    with telling:
        for part in parts:
            services.part_assign(part=part, actor=lead, assignee=fabricator)
    return parts


def test_the_header_shows_how_many_are_unread(fabricator, assigned):
    page = logged_in(fabricator).get("/").content.decode()

    assert 'aria-label="2 unread">2</span>' in page


def test_the_header_shows_no_count_when_nothing_is_unread(lead, assigned):
    page = logged_in(lead).get("/").content.decode()

    assert "inbox-count" not in page


def test_the_inbox_lists_the_notifications_newest_first(fabricator, assigned):
    page = logged_in(fabricator).get("/inbox/").content.decode()

    assert page.index("Gusset was assigned to you") < page.index("Bracket was assigned to you")
    assert "alice assigned it to you." in page
    assert "2 unread." in page


def test_opening_a_notification_marks_it_read_and_goes_to_the_part(fabricator, assigned):
    browser = logged_in(fabricator)
    notification = Notification.objects.get(part=assigned[0])

    response = browser.post(f"/inbox/{notification.pk}/open/")

    assert response.status_code == 302 and response["Location"] == f"/parts/{assigned[0].pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "1 unread." in browser.get("/inbox/").content.decode()


def test_nobody_opens_someone_elses_notification(lead, fabricator, assigned):
    notification = Notification.objects.filter(recipient=fabricator).first()

    assert logged_in(lead).post(f"/inbox/{notification.pk}/open/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_empties_the_count(fabricator, assigned):
    browser = logged_in(fabricator)

    browser.post("/inbox/read-all/")

    assert "inbox-count" not in browser.get("/").content.decode()
    assert not Notification.objects.filter(recipient=fabricator, read_at__isnull=True).exists()


def test_the_settings_page_records_which_kinds_come_by_email(fabricator):
    browser = logged_in(fabricator)
    page = browser.get("/inbox/settings/").content.decode()
    assert "A part was assigned to you" in page
    assert "quarantined" not in page  # a lead's kind
    assert "no email address on record" in page

    ticked = {kind: "on" for kind in notifications.kinds_for(fabricator) if kind != NotificationKind.APPROVED}
    browser.post("/inbox/settings/", ticked)

    assert notifications.email_choices(fabricator)[NotificationKind.APPROVED] is False
    assert notifications.email_choices(fabricator)[NotificationKind.ASSIGNED] is True


def test_a_lead_may_choose_the_leads_kinds(lead):
    page = logged_in(lead).get("/inbox/settings/").content.decode()

    assert "quarantined" in page and "webhook endpoint" in page


def test_following_a_part_from_its_page(viewer):
    part = make_part()
    browser = logged_in(viewer)
    assert ">Follow</button>" in browser.get(f"/parts/{part.pk}/").content.decode()

    browser.post(f"/parts/{part.pk}/follow/")
    assert Follow.objects.filter(user=viewer, part=part).exists()
    assert "Following · stop" in browser.get(f"/parts/{part.pk}/").content.decode()

    browser.post(f"/parts/{part.pk}/follow/", {"stop": "1"})
    assert not Follow.objects.filter(user=viewer, part=part).exists()


@pytest.mark.parametrize("path", ["/inbox/", "/inbox/settings/"])
def test_anonymous_visitors_log_in_first_and_people_without_a_role_are_refused(db, client, roleless, path):
    assert client.get(path)["Location"] == f"/login/?next={path}"
    assert logged_in(roleless).get(path).status_code == 403


def test_the_pages_use_no_inline_script_or_style(fabricator, assigned):
    for path in ("/inbox/", "/inbox/settings/"):
        page = logged_in(fabricator).get(path).content.decode()
        inbox_part = page[page.index("<main"):]
        assert "<script" not in inbox_part and "style=" not in inbox_part, path
