"""A meshopt-compressed model (files.compact) draws in the 3D view, under the Content-Security-Policy."""

import pytest

from files.models import Revision
from files.tests.samples import box_step
from parts.lifecycle import Status
from parts.tests.browser.pixels import colour_count
from parts.tests.browser.test_shop_floor import upload
from parts.tests.factories import make_part

pytestmark = pytest.mark.slow


def test_a_compressed_model_draws_in_the_3d_view_coarse_first(page, log_in, live_server, viewer, fabricator, settings):
    settings.GLB_COMPACT_MIN_BYTES = 0  # every model counts as large
    part = make_part(Status.REVIEWED, part_number="P-00701", name="Compact plate")
    upload(fabricator, part, box_step(x=120, y=60, z=6), "plate.step")
    stored = Revision.objects.get(part=part)
    assert stored.glb_compact_key and stored.glb_coarse_key
    log_in(page, viewer)

    page.goto(f"{live_server.url}/parts/{part.pk}/")
    page.wait_for_selector('.viewer[data-state="ready"]')

    page.wait_for_selector('.viewer[data-detail="full"]')  # the coarse version first, then the full model
    assert colour_count(page.locator(".viewer canvas").screenshot()) > 20
    assert page.locator('[data-viewer="size"]').inner_text().strip() == "120.0 × 60.0 × 6.0 mm"
    assert page.csp_violations == []
