"""Browser tests: Playwright drives Debian's Chromium (headless) against a live Partsite.

They skip, saying why, when /usr/bin/chromium is not installed (`apt-get install chromium`).
Screenshots go to data/screenshots/ (the data dir), for people to look at.
"""

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import client_for

CHROMIUM = Path(os.environ.get("PARTSITE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    # WebGL without a GPU: ANGLE on SwiftShader, Chromium's software renderer.
    "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
TABLET = {"width": 1024, "height": 600}  # a 7-inch tablet, landscape
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in the tests are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport=TABLET)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A tab that fails its test if the page reports a Content-Security-Policy violation: every
    script, style, image and connection the pages need must be allowed by the policy."""
    page = browser_context.new_page()
    page.csp_violations = []
    page.on("console", lambda message: _record_violation(page, message))
    yield page
    # What the last page still loads (the 3D model, say) is checked too, and is answered
    # before the test's database is emptied under the live server's feet.
    page.wait_for_load_state("networkidle")
    assert not page.csp_violations, "\n".join(page.csp_violations)


def _record_violation(page, message):
    if "Content Security Policy" in message.text:
        page.csp_violations.append(f"{page.url}: {message.text}")


@pytest.fixture
def screenshots(settings):
    folder = Path(settings.DATA_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def log_in(live_server):
    def log_in(page, user):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(f"{user.username}-secret-pw")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return log_in


def upload(user, part, content, filename):
    """Add a revision through the API, as a CAD tool would; the conversion runs when it commits."""
    response = client_for(user).post(
        f"/api/parts/{part.pk}/revisions/", {"file": SimpleUploadedFile(filename, content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return part.revisions.get(pk=response.json()["id"])
