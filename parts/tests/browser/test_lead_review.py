"""A lead's day in a real browser: the review queue in the admin, a part's revisions and previews,
approving R2 of a part that has R1-R3, R2 pinned on the part page; a fabricator's later change of
the amount refused; R4 uploaded, "newer than approved" shown, R4 approved."""

import re

import pytest

from conftest import client_for
from files.tests.samples import box_step
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.browser.conftest import upload
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def previews_loaded(page, selector, count):
    page.wait_for_function(
        """([selector, count]) => {
             const images = [...document.querySelectorAll(selector)];
             return images.length === count && images.every(img => img.complete && img.naturalWidth > 0);
           }""",
        arg=[selector, count],
    )


def test_a_leads_day_approve_a_chosen_revision_then_a_newer_one(page, log_in, live_server, screenshots, lead,
                                                                fabricator):
    plate = make_part(Status.PENDING, part_number="P-00200", name="Gearbox side plate", amount=2)
    make_part(Status.REVIEWED, part_number="P-00201", name="Already approved spacer", type="hand")
    for number, width in enumerate((100, 140, 180), start=1):
        upload(fabricator, plate, box_step(x=width, y=90, z=6, name=f"Plate{number}"), f"side_plate_v{number}.step")

    log_in(page, lead)
    # The review queue in the admin: the part in review, with its preview; the approved one not.
    page.goto(f"{live_server.url}/admin/parts/part/?queue=review")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "P-00200" in rows.first.inner_text()
    previews_loaded(page, "#result_list img.thumb", 1)
    page.screenshot(path=screenshots / "admin-review-queue.png", full_page=True)

    # The part's page: its revisions with their previews, and its moves as buttons.
    rows.first.get_by_role("link", name="P-00200").click()
    previews_loaded(page, "#revisions-group img.thumb", 3)
    files = page.locator("#revisions-group").inner_text()
    assert all(f"R{n} side_plate_v{n}.step" in files for n in (1, 2, 3))
    assert files.count("Ready") == 3
    page.screenshot(path=screenshots / "admin-part-revisions.png", full_page=True)

    # Approve R2, chosen by its preview, number, filename and state.
    page.locator('[data-tool-name="approve"] button').click()
    previews_loaded(page, "label.revision-option img", 3)
    r2 = page.locator('label[data-revision="R2"]')
    assert "side_plate_v2.step" in r2.inner_text() and "Ready" in r2.inner_text()
    r2.locator("input").check()
    page.screenshot(path=screenshots / "admin-approve-choose-revision.png", full_page=True)
    page.get_by_role("button", name="Approve").click()
    assert "P-00200: In review → Approved; pins R2 side_plate_v2.step" in page.locator(".messagelist").inner_text()
    assert "R3 is newer than the approved R2" in page.content()

    # R2 is pinned on the part's own page, which says R3 is newer.
    page.get_by_role("link", name="View on site").click()
    assert re.search(r"R2 side_plate_v2\.step", page.locator(".approved-pin").inner_text())
    assert "R3 is newer than the approved R2." in page.locator(".newer-revision").first.inner_text()

    # The fabricator's later change of the amount is refused: the amount was released with R2.
    refused = client_for(fabricator).patch(f"/api/parts/{plate.pk}/", {"amount": 5}, format="json")
    assert refused.status_code == 409
    assert refused.json()["detail"].endswith("Ask a lead.")
    assert Part.objects.get(pk=plate.pk).amount == 2

    # R4 arrives; the page says so, and the lead approves it.
    upload(fabricator, plate, box_step(x=200, y=90, z=6, name="Plate4"), "side_plate_v4.step")
    page.reload()
    assert "R4 is newer than the approved R2." in page.locator(".newer-revision").first.inner_text()
    page.locator('details[data-move="repin"] summary').click()
    page.locator('details[data-move="repin"] label[data-revision="R4"] input').check()
    page.screenshot(path=screenshots / "part-reapprove-r4.png", full_page=True)
    page.locator('details[data-move="repin"] button[type="submit"]').click()
    assert re.search(r"R4 side_plate_v4\.step", page.locator(".approved-pin").inner_text())
    assert page.locator(".newer-revision").count() == 0
    plate.refresh_from_db()
    assert (plate.status, plate.approved_revision.number) == (Status.REVIEWED, 4)
    page.screenshot(path=screenshots / "part-approved-r4.png", full_page=True)
