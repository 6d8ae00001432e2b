"""Uploading several files at once, cancelling one, and the part page updating itself afterwards."""

import pytest

from files.tests.samples import box_step, pdf_bytes
from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow

PICKER = "STEP models (.step, .stp) or drawings (.pdf, .dxf): choose or drop several"


def test_several_files_upload_at_once_with_one_cancelled_and_the_page_updates_itself(
    page, log_in, live_server, fabricator, settings, tmp_path
):
    settings.UPLOAD_PART_SIZE_MB = 5
    part = make_part(Status.PENDING, part_number="P-00501", name="Side plate")
    files = {
        "plate.step": box_step(x=100, y=50, z=6, name="Plate"),
        "big.step": box_step(x=600, y=400, z=6, padding=11 * 2**20),
        "plate.pdf": pdf_bytes(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)

    log_in(page, fabricator)
    page.goto(f"{live_server.url}/parts/{part.pk}/")
    # The big file's parts wait for the test's word, so that it is still uploading when cancelled.
    held = []
    page.route("**/api/uploads/*/parts/*/**", lambda route: held.append(route))
    page.get_by_label(PICKER).set_input_files([str(tmp_path / "plate.step"), str(tmp_path / "big.step")])
    page.get_by_label(PICKER).set_input_files(str(tmp_path / "plate.pdf"))  # added to the list, not replacing it
    assert page.locator(".upload-item").count() == 3
    page.unroute("**/api/uploads/*/parts/*/**")
    page.route("**/api/uploads/*/parts/*/**", lambda route: (
        held.append(route) if "big.step" in _upload_names(route) else route.continue_()
    ))
    page.evaluate("() => { window.notReloaded = true; }")
    page.get_by_role("button", name="Upload", exact=True).click()
    big = page.locator(".upload-item", has_text="big.step")
    page.wait_for_function("() => document.querySelector('.upload-item:nth-child(2)').dataset.state === 'uploading'")
    big.get_by_role("button", name="Cancel big.step").click()
    for route in held:
        route.abort("connectionreset")
    page.wait_for_selector('form[data-upload][data-state="done"]')
    states = page.locator(".upload-item").evaluate_all("rows => rows.map(row => row.dataset.state)")
    assert states == ["done", "cancelled", "done"]
    assert "Done: 2 files uploaded" in page.locator(".upload-summary").inner_text()
    assert sorted(part.revisions.values_list("filename", flat=True)) == ["plate.pdf", "plate.step"]
    # Without a reload, the files list shows both, and the 3D view comes when the model is converted.
    page.wait_for_selector('[data-live="files"] >> text=plate.pdf')
    page.wait_for_selector('[data-live="files"] >> text=plate.step')
    page.wait_for_selector('.viewer[data-state="ready"]', timeout=60_000)
    assert page.evaluate("() => window.notReloaded") is True  # all of it without reloading the page


def _upload_names(route):
    """Which file a part URL belongs to, asked of the page's own list (the URL names only the upload)."""
    return route.request.frame.page.evaluate(
        "() => [...document.querySelectorAll('.upload-item[data-state=uploading] .upload-name')]"
        ".map(n => n.textContent).join(' ')"
    )
