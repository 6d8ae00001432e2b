"""manage.py render_previews: previews for revisions converted before previews existed, or all drawn again."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from files.models import Revision
from files.tests.helpers import convert_now, post_file, stored_keys
from files.tests.samples import box_step, pdf_bytes
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


def converted(client, part, content=None, filename="bracket.step"):
    response = post_file(client, part, content or box_step(), filename)
    assert response.status_code == 201, response.json()
    convert_now(response.json()["id"])
    return Revision.objects.get(pk=response.json()["id"])


def without_preview(client, part, settings, content=None):
    """A revision converted while previews could not be drawn, as if converted before they existed."""
    timeout = settings.PREVIEW_TIMEOUT_SECONDS
    settings.PREVIEW_TIMEOUT_SECONDS = 0.01
    revision = converted(client, part, content)
    settings.PREVIEW_TIMEOUT_SECONDS = timeout
    assert not revision.has_preview
    return revision


def render_previews(*args):
    out = StringIO()
    call_command("render_previews", *args, "--no-progress", stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("storage_backend")
def test_missing_previews_are_drawn_and_existing_ones_kept(as_fabricator, settings):
    part = make_part()
    lacking = without_preview(as_fabricator, part, settings, box_step(10, 10, 10))
    having = converted(as_fabricator, part, box_step(20, 10, 10))

    output = render_previews("--missing")

    assert output.strip() == "1 previews drawn, 0 failed."
    lacking.refresh_from_db()
    assert (lacking.has_preview, lacking.preview_error) == (True, "")
    assert Revision.objects.get(pk=having.pk).preview_key == having.preview_key
    assert {lacking.preview_key, having.preview_key} <= set(stored_keys())


def test_without_missing_every_preview_is_drawn_again_and_the_old_images_go(as_fabricator):
    revision = converted(as_fabricator, make_part())

    output = render_previews()

    assert output.strip() == "1 previews drawn, 0 failed."
    revision_after = Revision.objects.get(pk=revision.pk)
    assert revision_after.preview_key != revision.preview_key
    assert revision.preview_key not in stored_keys() and revision_after.preview_key in stored_keys()


def test_drawings_and_revisions_not_converted_are_left_alone(as_fabricator, settings):
    part = make_part()
    post_file(as_fabricator, part, pdf_bytes(), "drawing.pdf")
    post_file(as_fabricator, part, box_step())  # queued, never converted
    settings.CONVERSION_TIMEOUT_SECONDS = 0.001
    converted(as_fabricator, part, box_step(20, 10, 10))  # failed

    assert render_previews().strip() == "0 previews drawn, 0 failed."


def test_one_parts_previews_only(as_fabricator, settings):
    mine, other = make_part(part_number="P-MINE"), make_part()
    lacking = without_preview(as_fabricator, mine, settings)
    elsewhere = without_preview(as_fabricator, other, settings, box_step(20, 10, 10))

    render_previews("--part", "P-MINE")

    assert Revision.objects.get(pk=lacking.pk).has_preview
    assert not Revision.objects.get(pk=elsewhere.pk).has_preview


def test_an_unknown_part_is_an_error():
    with pytest.raises(CommandError, match="No part numbered 'P-NONE'"):
        render_previews("--part", "P-NONE")


def test_previews_that_cannot_be_drawn_are_listed_and_fail_the_command(as_fabricator, settings):
    lacking = without_preview(as_fabricator, make_part(part_number="P-BRACKET"), settings)
    having = converted(as_fabricator, make_part(part_number="P-HINGE"))
    settings.PREVIEW_MEMORY_MB = 64
    out = StringIO()

    with pytest.raises(CommandError, match=r"^0 previews drawn, 2 failed\.$"):
        call_command("render_previews", "--no-progress", stdout=out)

    assert out.getvalue().splitlines() == [
        "FAILED   P-BRACKET R1 (bracket.step): drawing it ran out of memory (limit 64 MB)",
        "FAILED   P-HINGE R1 (bracket.step): drawing it ran out of memory (limit 64 MB)",
    ]
    lacking.refresh_from_db()
    assert (lacking.has_preview, lacking.preview_error) == (False, "drawing it ran out of memory (limit 64 MB)")
    # A revision that had a preview keeps it.
    assert Revision.objects.get(pk=having.pk).preview_key == having.preview_key
    assert having.preview_key in stored_keys()
