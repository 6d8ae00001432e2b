"""The 3D view's revision picker and compare mode in a real browser."""

import pytest

from files.tests.samples import box_step
from parts.lifecycle import Status
from parts.tests.browser.test_shop_floor import upload
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def test_the_picker_shows_each_revision_and_compare_mode_overlays_two_with_their_size_difference(
    page, log_in, live_server, screenshots, viewer, fabricator,
):
    part = make_part(Status.PENDING, part_number="P-00801", name="Side plate")
    upload(fabricator, part, box_step(x=100, y=50, z=6, name="Plate"), "plate_v1.step")
    upload(fabricator, part, box_step(x=120, y=50, z=6, name="Plate"), "plate_v2.step")
    log_in(page, viewer)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    page.wait_for_selector('.viewer[data-state="ready"]')
    picker = page.get_by_role("list", name="Revisions with a 3D model")
    choices = picker.get_by_role("button")
    assert choices.all_inner_texts() == ["R2", "R1"]
    assert picker.locator("img").count() == 2  # each with its thumbnail
    assert page.locator('[data-viewer="size"]').inner_text() == "120.0 × 50.0 × 6.0 mm"

    choices.filter(has_text="R1").click()
    page.wait_for_selector('.viewer[data-state="ready"]')
    assert choices.filter(has_text="R1").get_attribute("aria-pressed") == "true"
    assert page.locator('[data-viewer="size"]').inner_text() == "100.0 × 50.0 × 6.0 mm"
    assert page.locator('[data-viewer="shown"]').inner_text() == "R1 · plate_v1.step"

    page.get_by_label("Compare with").select_option(label="R2 plate_v2.step")
    page.wait_for_selector('.viewer[data-state="comparing"]')
    legend = page.locator('[data-viewer="legend"]')
    assert "R1: 100.0 × 50.0 × 6.0 mm" in legend.inner_text()
    assert "R2: 120.0 × 50.0 × 6.0 mm" in legend.inner_text()
    assert "R2 − R1: +20.0 × +0.0 × +0.0 mm" in legend.inner_text()
    page.screenshot(path=screenshots / "viewer-compare.png")
