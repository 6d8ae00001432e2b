"""Creating, editing and finding parts in a real browser."""

import pytest

from files.tests.samples import box_step
from parts.models import Part
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def test_a_fabricator_creates_a_part_with_its_step_file_then_edits_it(page, log_in, live_server, fabricator,
                                                                      tmp_path):
    step = tmp_path / "roller_bracket.step"
    step.write_bytes(box_step(name="Roller"))
    log_in(page, fabricator)
    page.get_by_role("link", name="New part").click()
    page.get_by_role("button", name="Create part").click()
    # Nothing filled in: the page says what is missing beside the field, and keeps what was given.
    assert page.locator('[data-field="name"] .errorlist').inner_text() == "This field is required."
    page.get_by_label("Name", exact=True).fill("Roller bracket")
    page.get_by_label("Amount").fill("3")
    page.get_by_label("STEP model (.step, .stp)").set_input_files(str(step))
    page.get_by_role("button", name="Create part").click()
    page.wait_for_url(f"{live_server.url}/parts/*/")
    assert "Roller bracket created with R1 roller_bracket.step" in page.locator(".messages").inner_text()
    assert "roller_bracket.step" in page.locator("ul.revisions").inner_text()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Material", exact=True).fill("Polycarbonate")
    page.get_by_role("button", name="Save").click()
    assert "saved" in page.locator(".messages").inner_text()
    assert Part.objects.get().material == "Polycarbonate"


def test_a_viewer_finds_neither_new_part_nor_edit(page, log_in, live_server, viewer):
    part = make_part()
    log_in(page, viewer)
    assert page.get_by_role("link", name="New part").count() == 0
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    assert page.get_by_role("link", name="Edit").count() == 0


def test_a_search_from_any_queue_finds_matches_in_every_queue(page, log_in, live_server, fabricator):
    from parts.lifecycle import Status

    make_part(Status.PENDING, part_number="P-00601", name="Bracket for review")
    make_part(Status.COMPLETED, part_number="P-00602", name="Finished bracket")
    make_part(Status.REVIEWED, type="misc", part_number="P-00603", name="Misc bracket")
    make_part(Status.REVIEWED, type="cnc", part_number="P-00604", name="Plate", storage_location="Bracket shelf")
    make_part(Status.REVIEWED, type="cnc", part_number="P-00605", name="Spacer")
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/?queue=cnc")
    page.get_by_role("searchbox", name="Search").fill("bracket")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**search=bracket**")
    cards = page.locator(".part-card")
    assert sorted(cards.evaluate_all("cards => cards.map(card => card.dataset.part)")) == [
        "P-00601", "P-00602", "P-00603", "P-00604"]
    assert page.locator('[data-part="P-00602"] .queue-tag').inner_text() == "Completed"
    tabs = page.locator("nav.queues")
    counts = {tab.split()[0]: tab.split()[-1] for tab in tabs.locator("a").all_inner_texts()}
    assert counts == {"All": "4", "Review": "1", "CNC": "1", "Hand": "0", "Misc": "1", "Completed": "1"}
    tabs.get_by_role("link", name="Misc").click()
    assert page.locator(".part-card").evaluate_all("cards => cards.map(card => card.dataset.part)") == ["P-00603"]
