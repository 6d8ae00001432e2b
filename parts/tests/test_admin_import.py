"""Importing parts in the admin: upload, see the dry run, confirm."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from parts.admin import IMPORT_SALT
from parts.models import Part

pytestmark = pytest.mark.django_db
IMPORT = "/admin/parts/part/import/"
GOOD = b"part_number,name,amount\nP-50001,Bracket,2\nP-50002,Gusset,1\n"


@pytest.fixture
def admin_client(client, lead):
    client.force_login(lead)
    return client


def upload(client, data):
    return client.post(IMPORT, {"file": SimpleUploadedFile("parts.csv", data)})


def token_in(html):
    return re.search(r'name="token" value="([^"]+)"', html)[1]


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_part_list_links_to_the_import(admin_client):
    assert IMPORT in admin_client.get("/admin/parts/part/").content.decode()


def test_uploading_shows_the_dry_run_and_confirming_imports(admin_client, lead):
    preview = upload(admin_client, GOOD).content.decode()

    assert "Dry run: 2 rows would be imported; nothing was written." in preview
    assert "P-50001" in preview and "Gusset" in preview
    assert not Part.objects.exists()

    response = admin_client.post(IMPORT, {"confirm": "Import", "token": token_in(preview)})

    assert response.status_code == 302 and response["Location"] == "/admin/parts/part/"
    assert messages_of(response) == ["Imported 2 rows: P-50001, P-50002."]
    assert list(Part.objects.order_by("part_number").values_list("part_number", "created_by")) == [
        ("P-50001", lead.pk), ("P-50002", lead.pk),
    ]


def test_bad_rows_are_listed_and_there_is_nothing_to_confirm(admin_client):
    html = upload(admin_client, b"name,amount\nBracket,0\n,1\n").content.decode()

    assert "2 problems found; nothing was imported." in html
    assert "line 2, field amount: Ensure this value is greater than or equal to 1." in html
    assert "line 3, field name: This field is required." in html
    assert 'name="confirm"' not in html
    assert not Part.objects.exists()


def test_a_row_that_became_wrong_after_the_preview_stops_the_import(admin_client):
    preview = upload(admin_client, GOOD).content.decode()
    Part.objects.create(part_number="P-50002", name="Made meanwhile")

    html = admin_client.post(IMPORT, {"confirm": "Import", "token": token_in(preview)}).content.decode()

    assert "line 3, field part_number: Part number &#x27;P-50002&#x27; is already taken." in html
    assert list(Part.objects.values_list("part_number", flat=True)) == ["P-50002"]


def test_a_tampered_or_expired_preview_is_refused(admin_client):
    forged = signing.dumps(GOOD.decode(), salt=IMPORT_SALT)[:-2] + "xx"

    response = admin_client.post(IMPORT, {"confirm": "Import", "token": forged})

    assert response.status_code == 302 and response["Location"] == IMPORT
    assert messages_of(response) == ["This preview has expired; upload the file again."]
    assert not Part.objects.exists()


@pytest.mark.parametrize("role", ["fabricator", "viewer"])
def test_only_leads_may_import_in_the_admin(client, request, role):
    user = request.getfixturevalue(role)
    user.is_staff = True  # even a staff account needs the lead role
    user.save()
    client.force_login(user)

    assert client.get(IMPORT).status_code == 403
    assert upload(client, GOOD).status_code == 403
    assert not Part.objects.exists()
