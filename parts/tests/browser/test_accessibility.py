"""axe-core (installed with npm, package.json) finds no violations, colour contrast included, on the
login, board, part, stats, audit and error pages, in the light, dark and high-contrast themes, on a
tablet and on a phone; the high-contrast choice is kept per person; forced colours keep the badges
and the open queue visible."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from parts.lifecycle import Status
from parts.models import PagePreference
from parts.tests.browser.conftest import PHONE, TABLET
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
THEMES = ("light", "dark", "high-contrast")


@pytest.fixture
def axe_page(chromium):
    """A tab that may add axe's script to Partsite's pages (their policy allows no script but their own)."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: run `make install-dev` (npm install)")
    context = chromium.new_context(viewport=TABLET, bypass_csp=True)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] + " " + n.get("failureSummary", "")[:160]
                                                          for n in v["nodes"][:3])
        for v in result["violations"]
    ]


@pytest.mark.parametrize("size", ["tablet", "phone"])
@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_no_violations_on_every_page(axe_page, live_server, lead, fabricator, theme, size):
    page = axe_page
    if size == "phone":
        page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark" if theme == "dark" else "light")
    part = make_part(Status.IN_PROGRESS, assignee=fabricator, part_number="P-00901", name="Gearbox plate",
                     storage_location="Shelf B3")
    make_part(Status.PENDING, part_number="P-00902", name="In review")
    make_part(Status.RETIRED, part_number="P-00903", name="Retired")
    make_part(Status.ALREADY_STARTED, part_number="P-00904", storage_location="Bin 4")
    make_part(Status.COMPLETED, part_number="P-00905")
    if theme == "high-contrast":
        PagePreference.objects.create(user=lead, high_contrast=True)

    found = {}
    page.goto(f"{live_server.url}/login/")
    found["login"] = violations(page)
    page.get_by_label("Username").fill(lead.username)
    page.get_by_label("Password").fill(f"{lead.username}-secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    for name, path in [("board", "/?queue=cnc"), ("search", "/?search=plate"), ("retired", "/?queue=retired"),
                       ("part", f"/parts/{part.pk}/"), ("stats", "/stats/"), ("audit", "/audit/"),
                       ("not found", "/no/such/page/"), ("new part", "/parts/new/")]:
        page.goto(f"{live_server.url}{path}")
        if theme == "high-contrast":
            assert page.locator("html").get_attribute("data-contrast") == "high"
        found[name] = violations(page)
    assert not any(found.values()), json.dumps({k: v for k, v in found.items() if v}, indent=1, ensure_ascii=False)


def test_high_contrast_is_kept_per_person(page, log_in, live_server, lead, fabricator):
    log_in(page, fabricator)
    assert page.locator("html").get_attribute("data-contrast") is None
    page.get_by_role("button", name="High contrast").click()
    assert page.locator("html").get_attribute("data-contrast") == "high"
    assert page.get_by_role("button", name="High contrast").get_attribute("aria-pressed") == "true"
    assert PagePreference.objects.get(user=fabricator).high_contrast
    assert not PagePreference.objects.filter(user=lead).exists()
    page.get_by_role("button", name="High contrast").click()
    assert page.locator("html").get_attribute("data-contrast") is None


def test_forced_colours_keep_the_badges_and_the_open_queue_visible(page, log_in, live_server, fabricator):
    make_part(Status.REVIEWED, part_number="P-00911")
    page.emulate_media(forced_colors="active")
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/?queue=cnc")
    badge = page.locator(".part-card .badge").first
    assert badge.evaluate("el => getComputedStyle(el).borderTopWidth") == "2px"
    active = page.locator(".queue.active")
    assert active.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
