"""The board on a 1024×600 tablet and on a phone: the first row of cards and their Claim buttons
without scrolling, queues and nav that fit or show that they scroll, tap targets of 44 px or more."""

import pytest

from parts.lifecycle import Status
from parts.tests.browser.conftest import PHONE
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def a_full_queue():
    for number in range(8):
        make_part(Status.REVIEWED, part_number=f"P-0070{number}", name=f"Gusset {number}", material="6061 aluminium",
                  material_thickness="3 mm", subsystem="Elevator", amount=2)


def test_on_a_tablet_the_first_row_of_cards_and_their_claim_buttons_need_no_scrolling(
    page, log_in, live_server, lead, screenshots,
):
    a_full_queue()
    log_in(page, lead)  # a lead's nav is the longest
    page.goto(f"{live_server.url}/?queue=cnc")
    page.screenshot(path=screenshots / "board-tablet-fold.png")
    cards = page.locator(".part-card")
    first_top = cards.first.bounding_box()["y"]
    first_row = [card for card in cards.all() if abs(card.bounding_box()["y"] - first_top) < 2]
    assert len(first_row) >= 3
    for card in first_row:
        claim = card.get_by_role("button", name="Claim").bounding_box()
        assert claim["y"] + claim["height"] <= 600, claim


def test_on_a_phone_the_queues_and_nav_fit_or_say_that_they_scroll(page, log_in, live_server, lead, screenshots):
    a_full_queue()
    page.set_viewport_size(PHONE)
    log_in(page, lead)
    for strip in ("nav.queues", ".topbar nav"):
        fits = page.locator(strip).evaluate("el => el.scrollWidth <= el.clientWidth")
        shows_it_scrolls = page.locator(strip).evaluate("el => el.dataset.scrolls !== undefined")
        assert fits or shows_it_scrolls, strip
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=screenshots / "board-phone.png")


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_every_tap_target_is_at_least_44_px(page, log_in, live_server, lead, size):
    a_full_queue()
    if size == "phone":
        page.set_viewport_size(PHONE)
    log_in(page, lead)
    part = make_part(Status.REVIEWED, part_number="P-00799")
    for path in ("/?queue=cnc", f"/parts/{part.pk}/", "/stats/"):
        page.goto(f"{live_server.url}{path}")
        small = page.evaluate("""() => [...document.querySelectorAll('a, button, summary, select, input')]
            .filter(el => el.offsetParent !== null && !el.closest('.skip'))
            .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect()])
            .filter(([html, box]) => box.height < 44 && !html.startsWith('<input type="hidden"'))
            .map(([html, box]) => `${html} ${Math.round(box.height)}px`)""")
        assert not small, (path, small)


def test_after_a_keyboard_claim_focus_stays_on_the_card(page, log_in, live_server, fabricator):
    a_full_queue()
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/?queue=cnc")
    page.locator('[data-part="P-00703"]').get_by_role("button", name="Claim").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    assert page.evaluate("document.activeElement.closest('[data-part]')?.dataset.part") == "P-00703"
