"""The inbox in a real browser, under the Content-Security-Policy: the unread count, a notification
opened, following a part, and choosing what comes by email."""

import pytest

from audit.models import Follow
from parts import services
from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def test_a_fabricator_reads_an_assignment_in_the_inbox_and_follows_a_part(page, log_in, live_server, screenshots,
                                                                          lead, fabricator):
    part = make_part(Status.REVIEWED, part_number="P-00401", name="Idler bracket")
    services.part_assign(part=part, actor=lead, assignee=fabricator)
    log_in(page, fabricator)

    assert page.locator(".inbox-count").inner_text() == "1"
    page.get_by_role("link", name="Inbox").click()
    page.screenshot(path=screenshots / "inbox.png", full_page=True)
    page.get_by_role("button", name="P-00401 Idler bracket was assigned to you").click()

    assert page.url == f"{live_server.url}/parts/{part.pk}/"
    assert page.locator(".inbox-count").count() == 0
    page.get_by_role("button", name="Follow").click()
    assert "you will be told when it is completed" in page.locator(".messages").inner_text()
    assert Follow.objects.filter(user=fabricator, part=part).exists()

    page.goto(f"{live_server.url}/inbox/settings/")
    page.get_by_label("Your part was approved").uncheck()
    page.get_by_role("button", name="Save").click()
    assert "Saved" in page.locator(".messages").inner_text()
    assert not page.get_by_label("Your part was approved").is_checked()
