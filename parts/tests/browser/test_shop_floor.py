"""The shop-floor pages in a real browser: log in, the board, the 3D view, the moves, an upload."""

import re

import pytest

from conftest import client_for
from files.tests.corpus import real_file
from files.tests.samples import box_step
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.browser.conftest import PHONE, upload
from parts.tests.browser.pixels import colour_count
from parts.tests.factories import make_part

# A browser runs in every test here; they are slow next to the rest of the suite.
pytestmark = pytest.mark.slow


def shop_with_parts(fabricator, other_fabricator):
    """A board that looks like a working shop's."""
    plate = make_part(Status.REVIEWED, part_number="P-00101", name="Gearbox side plate", material="6061 aluminium",
              material_thickness="6 mm", amount=2, subsystem="Drivetrain")
    bracket = make_part(Status.ALREADY_STARTED, part_number="P-00102", name="Intake roller bracket", material="Polycarbonate",
              material_thickness="1/4 in", amount=4, subsystem="Intake", storage_location="Shelf B3, bin 2")
    make_part(Status.IN_PROGRESS, assignee=fabricator, part_number="P-00103", name="Elevator carriage gusset",
              material="6061 aluminium", material_thickness="3 mm", subsystem="Elevator")
    make_part(Status.IN_PROGRESS, assignee=other_fabricator, part_number="P-00104", name="Bellypan",
              material="Polycarbonate", material_thickness="3 mm", subsystem="Chassis")
    make_part(Status.PENDING, part_number="P-00105", name="Shooter hood arc", type="hand", subsystem="Shooter")
    make_part(Status.REVIEWED, part_number="P-00107", name="Bumper corner wrap", type="hand", material="Plywood",
              material_thickness="3/4 in", amount=4, subsystem="Bumpers")
    make_part(Status.COMPLETED, assignee=fabricator, part_number="P-00106", name="Swerve module spacer",
              subsystem="Drivetrain")
    # With their STEP files, so the cards show previews where Partsite renders them.
    upload(fabricator, plate, box_step(x=180, y=90, z=6, name="Plate"), "side_plate.step")
    upload(fabricator, bracket, box_step(x=40, y=30, z=25, name="Bracket"), "bracket.step")


@pytest.mark.parametrize("role", ["lead", "fabricator", "viewer"])
def test_each_role_logs_in_and_sees_the_board(role, request, page, log_in, live_server, screenshots,
                                               fabricator, other_fabricator):
    user = request.getfixturevalue(role)
    shop_with_parts(fabricator, other_fabricator)
    log_in(page, user)
    queues = page.locator("nav.queues")
    for name, count in [("Review", 1), ("CNC", 4), ("Hand", 1), ("Misc", 0), ("Completed", 1)]:
        assert queues.get_by_role("link", name=re.compile(rf"^{name}")).inner_text().split() == [name, str(count)]
    assert page.locator(".part-card").count() == 4
    # Parts with a converted STEP file show its rendered preview; the others a placeholder.
    page.wait_for_function(
        """() => document.querySelectorAll('.thumb img').length === 2 &&
                 [...document.querySelectorAll('.thumb img')].every(img => img.complete && img.naturalWidth > 0)"""
    )
    assert page.locator('.part-card[data-part="P-00104"] .thumb-placeholder').count() == 1
    half_done = page.locator('.part-card[data-part="P-00102"]')
    assert "Shelf B3, bin 2" in half_done.inner_text()
    claim_buttons = page.get_by_role("button", name=re.compile("^Claim"))
    assert claim_buttons.count() == (0 if role == "viewer" else 2)
    page.screenshot(path=screenshots / f"board-{role}-tablet.png", full_page=True)
    if role == "fabricator":
        page.set_viewport_size(PHONE)
        page.screenshot(path=screenshots / "board-fabricator-phone.png", full_page=True)


def draws_a_model(page, live_server, part, screenshot):
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    viewer = page.locator(".viewer")
    page.wait_for_selector('.viewer[data-state="ready"]')
    canvas = viewer.locator("canvas")
    # A blank canvas is one colour; a lit, shaded model has many.
    assert colour_count(canvas.screenshot()) > 20
    assert re.fullmatch(r"[\d.]+ × [\d.]+ × [\d.]+ mm", page.locator('[data-viewer="size"]').inner_text().strip())
    wireframe = page.get_by_role("button", name="Wireframe")
    wireframe.click()
    assert wireframe.get_attribute("aria-pressed") == "true"
    wireframe.click()
    assert wireframe.get_attribute("aria-pressed") == "false"
    page.get_by_role("button", name="Fit to view").click()
    page.screenshot(path=screenshot, full_page=True)


def test_a_real_step_file_that_converted_draws_in_the_3d_view(page, log_in, live_server, screenshots, viewer,
                                                             fabricator):
    path = real_file("freecad_colored.step")
    part = make_part(Status.REVIEWED, part_number="P-00201", name="Coloured block", amount=3)
    revision = upload(fabricator, part, path.read_bytes(), path.name)
    revision.refresh_from_db()
    assert revision.conversion_status == "ready", revision.conversion_error
    log_in(page, viewer)
    draws_a_model(page, live_server, part, screenshots / "part-real-step.png")
    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_selector('.viewer[data-state="ready"]')
    assert colour_count(page.locator(".viewer canvas").screenshot()) > 20
    page.screenshot(path=screenshots / "part-real-step-phone.png", full_page=True)


def test_a_generated_box_draws_in_the_3d_view(page, log_in, live_server, screenshots, viewer, fabricator):
    part = make_part(Status.REVIEWED, part_number="P-00202", name="Spacer block")
    upload(fabricator, part, box_step(), "spacer.step")
    log_in(page, viewer)
    draws_a_model(page, live_server, part, screenshots / "part-box.png")
    assert page.locator('[data-viewer="size"]').inner_text().strip() == "40.0 × 20.0 × 5.0 mm"


def test_a_fabricator_claims_unclaims_with_a_location_claims_again_and_completes(
    page, log_in, live_server, screenshots, fabricator
):
    part = make_part(Status.REVIEWED, part_number="P-00301", name="Arm pivot plate", amount=2)
    upload(fabricator, part, box_step(x=120, y=60, z=6), "pivot.step")
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    page.get_by_role("button", name="Claim", exact=True).click()
    assert "Claim: P-00301 is now in progress." in page.locator(".messages").inner_text()

    page.get_by_text("Unclaim", exact=True).click()
    page.get_by_label("Where is the unfinished part?").fill("Cart 3, top shelf")
    page.get_by_role("button", name="Unclaim → Already started").click()
    assert "Cart 3, top shelf" in page.locator(".warning").inner_text()
    assert Part.objects.get(pk=part.pk).status == Status.ALREADY_STARTED

    page.get_by_role("button", name="Claim", exact=True).click()
    page.get_by_text("Complete", exact=True).click()
    page.wait_for_selector('.viewer[data-state="ready"]')
    page.screenshot(path=screenshots / "part-completing.png", full_page=True)
    page.get_by_role("button", name="Complete → Completed").click()
    # Two to make: the browser will not send it before "all 2 are made" is ticked.
    assert Part.objects.get(pk=part.pk).status == Status.IN_PROGRESS
    page.get_by_label("All 2 are made").check()
    page.get_by_role("button", name="Complete → Completed").click()
    assert "Complete: P-00301 is now completed." in page.locator(".messages").inner_text()
    part.refresh_from_db()
    assert part.status == Status.COMPLETED and part.storage_location == "Cart 3, top shelf"
    assert page.locator("section.actions button, section.actions summary").count() == 0


def test_a_refused_move_shows_a_message_instead_of_an_error_page(page, log_in, live_server, lead, fabricator):
    part = make_part(Status.REVIEWED, part_number="P-00302")
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    client_for(lead).post(f"/api/parts/{part.pk}/retire/", {"reason": "Redesigned"})  # meanwhile, a lead retires it
    page.get_by_role("button", name="Claim", exact=True).click()
    assert "Cannot claim a part that is retired" in page.locator(".message-error").inner_text()


def test_an_upload_shows_its_progress_to_100_percent_and_survives_a_dropped_part(
    page, log_in, live_server, screenshots, fabricator, settings, tmp_path
):
    settings.UPLOAD_PART_SIZE_MB = 5
    part = make_part(Status.PENDING, part_number="P-00401", name="Big chassis plate")
    big = tmp_path / "chassis.step"
    big.write_bytes(box_step(x=600, y=400, z=6, padding=11 * 2**20))  # three parts
    dropped = []

    def drop_part_two_once(route):
        if "/parts/2/" in route.request.url and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    log_in(page, fabricator)
    page.route(re.compile(r".*/api/uploads/.*/parts/\d+/.*"), drop_part_two_once)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    page.get_by_label("STEP models (.step, .stp) or drawings (.pdf, .dxf): choose or drop several").set_input_files(big)
    page.get_by_label("Description (optional)").fill("Lightening holes")
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_selector('form[data-upload][data-state="done"]')
    assert page.locator(".upload-item progress").evaluate("bar => bar.value") == 100
    assert page.locator(".upload-item .progress-text").inner_text().startswith("100 %")
    assert dropped, "the test meant to drop part 2 once"
    revision = part.revisions.get()
    assert (revision.label, revision.size, revision.description) == ("R1", big.stat().st_size, "Lightening holes")
    page.wait_for_selector("text=Lightening holes")  # the files list updated itself with the new revision
    page.wait_for_selector('.viewer[data-state="ready"]')
    page.screenshot(path=screenshots / "part-after-upload.png", full_page=True)


def test_a_viewer_sees_no_action_buttons_and_no_upload(page, log_in, live_server, viewer, fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator, part_number="P-00501")
    log_in(page, viewer)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    assert page.locator("section.actions button, section.actions summary").count() == 0
    assert page.locator("form[data-upload]").count() == 0
    page.goto(f"{live_server.url}/?queue=cnc")
    assert page.get_by_role("button", name=re.compile("^Claim")).count() == 0


def test_the_stats_page_shows_queues_times_and_the_leaderboard(page, log_in, live_server, screenshots, lead,
                                                              fabricator, other_fabricator):
    shop_with_parts(fabricator, other_fabricator)
    log_in(page, lead)
    page.get_by_role("link", name="Stats").click()
    assert page.locator('[data-stat="cnc"] .tile-count').inner_text() == "4"
    assert page.locator('[data-leader="bob"]').count() == 1
    page.screenshot(path=screenshots / "stats.png", full_page=True)


def test_a_lead_filters_the_audit_page_and_a_fabricator_is_told_it_is_for_leads(
    page, log_in, live_server, screenshots, lead, fabricator, other_fabricator
):
    shop_with_parts(fabricator, other_fabricator)  # bob uploads STEP files
    client_for(lead).post("/api/parts/", {"name": "Lead's own part"})
    log_in(page, fabricator)
    page.goto(f"{live_server.url}/audit/")
    assert "Only leads may read the audit trail." in page.locator("main").inner_text()
    page.get_by_role("button", name="Log out").click()

    log_in(page, lead)
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Who").fill("bob")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator(".audit tbody tr")
    assert rows.count() > 0
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"bob"}
    page.screenshot(path=screenshots / "audit.png", full_page=True)
