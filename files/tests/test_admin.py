"""Leads look after revisions, uploads and the access log in the admin."""

import pytest

from audit.models import FileAccess
from files.models import Revision
from files.tests.helpers import approve_by_name, post_file, stored_keys
from files.tests.samples import box_step
from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for_lead(client, lead):
    client.force_login(lead)
    return client


@pytest.fixture
def revision(as_fabricator):
    return Revision.objects.get(pk=post_file(as_fabricator, make_part(), box_step(), "gusset.step").json()["id"])


def test_a_lead_sees_revisions_with_their_conversion_status(admin_client_for_lead, revision):
    page = admin_client_for_lead.get("/admin/files/revision/").content.decode()

    assert "gusset.step" in page
    assert "Waiting" in page and "border-radius" in page
    assert f"/api/revisions/{revision.pk}/download/" in page


def test_a_converted_revision_shows_its_preview_in_the_admin(admin_client_for_lead, revision):
    from files.tests.helpers import convert_now

    converted = convert_now(revision.pk)

    page = admin_client_for_lead.get(f"/admin/files/revision/{revision.pk}/change/").content.decode()
    assert f'<img src="{converted.preview_url.replace("&", "&amp;")}"' in page
    assert admin_client_for_lead.get(converted.preview_url)["Content-Type"] == "image/png"


def test_revisions_cannot_be_added_or_edited_in_the_admin(admin_client_for_lead, revision):
    assert admin_client_for_lead.get("/admin/files/revision/add/").status_code == 403
    admin_client_for_lead.post(f"/admin/files/revision/{revision.pk}/change/", {"filename": "renamed.step"})

    revision.refresh_from_db()
    assert revision.filename == "gusset.step"


def test_deleting_a_revision_in_the_admin_removes_its_file(admin_client_for_lead, revision,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for_lead.post(f"/admin/files/revision/{revision.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Revision.objects.exists()
    assert stored_keys() == []


def test_an_approved_revision_cannot_be_deleted_in_the_admin(admin_client_for_lead, as_lead, revision):
    approve_by_name(as_lead, revision.part)

    page = admin_client_for_lead.post(f"/admin/files/revision/{revision.pk}/delete/", {"post": "yes"})

    assert "Cannot delete" in page.content.decode()
    assert Revision.objects.filter(pk=revision.pk).exists()
    assert len(stored_keys()) == 1


def test_bulk_delete_with_a_pinned_revision_deletes_nothing_and_names_it(admin_client_for_lead, as_lead,
                                                                        as_fabricator, revision):
    approve_by_name(as_lead, revision.part)
    loose = post_file(as_fabricator, make_part(), box_step(5, 5, 5)).json()["id"]

    response = admin_client_for_lead.post(
        "/admin/files/revision/", {"action": "delete_selected", "_selected_action": [revision.pk, loose], "post": "yes"}
    )

    assert Revision.objects.count() == 2
    page = response.content.decode()
    assert "would require deleting the following protected related objects" in page
    assert revision.part.part_number in page


def test_the_reconvert_action_starts_a_conversion_again(admin_client_for_lead, revision, django_capture_on_commit_callbacks):
    Revision.objects.filter(pk=revision.pk).update(conversion_status="failed", conversion_error="timed out")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client_for_lead.post(
            "/admin/files/revision/", {"action": "reconvert", "_selected_action": [revision.pk]}
        )

    revision.refresh_from_db()
    assert (revision.conversion_status, revision.conversion_error) == ("ready", "")


def test_the_access_log_is_read_only(admin_client_for_lead, as_viewer, revision):
    as_viewer.get(f"/api/revisions/{revision.pk}/download/")
    access = FileAccess.objects.get()

    listing = admin_client_for_lead.get("/admin/audit/fileaccess/").content.decode()
    change = admin_client_for_lead.post(f"/admin/audit/fileaccess/{access.pk}/change/", {"what": "nothing"})

    assert "carol" in listing and "gusset.step" in listing
    assert change.status_code == 403
    assert admin_client_for_lead.post(f"/admin/audit/fileaccess/{access.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.parametrize("user", ["fabricator", "viewer"])
def test_only_leads_reach_the_file_admin(client, request, user):
    client.force_login(request.getfixturevalue(user))

    assert client.get("/admin/files/revision/").status_code == 302


def test_a_retired_part_keeps_its_revisions_listed(admin_client_for_lead, as_lead, revision):
    as_lead.post(f"/api/parts/{revision.part_id}/retire/", {"reason": "Obsolete"}, format="json")

    revision.part.refresh_from_db()
    assert revision.part.status == Status.RETIRED
    assert "gusset.step" in admin_client_for_lead.get("/admin/files/revision/").content.decode()


def test_a_revisions_page_has_no_save_buttons_but_can_still_delete(admin_client_for_lead, revision):
    html = admin_client_for_lead.get(f"/admin/files/revision/{revision.pk}/change/").content.decode()

    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert f"/admin/files/revision/{revision.pk}/delete/" in html
