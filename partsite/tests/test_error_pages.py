"""Partsite's own error pages (the site's layout, a viewport, a way back) and its icon on every page."""

import pytest
from django.test import Client

from partsite.outages import server_error

pytestmark = pytest.mark.django_db

FAVICON = '<link rel="icon" href="/static/partsite/favicon.svg"'


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_missing_page_is_partsites_404_with_a_way_back(viewer):
    response = logged_in(viewer).get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here" in html and "/no/such/page/" in html
    assert 'name="viewport"' in html and 'href="/">Back to the board</a>' in html and FAVICON in html
    # The site's header, with the person's navigation.
    assert 'class="topbar"' in html and "My work" in html


def test_a_missing_part_is_the_same_404(viewer):
    response = logged_in(viewer).get("/parts/999999/")
    assert response.status_code == 404 and b"There is nothing here" in response.content


def test_a_refused_page_is_partsites_403_with_a_way_back(viewer):
    response = logged_in(viewer).get("/parts/new/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "You may not open this page" in html and 'href="/">Back to the board</a>' in html
    assert 'name="viewport"' in html


def test_a_bug_is_partsites_500_page_even_without_a_request_context(rf):
    try:
        raise ZeroDivisionError("a bug")
    except ZeroDivisionError:
        response = server_error(rf.get("/parts/1/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and 'href="/">Back to the board</a>' in html
    assert 'name="viewport"' in html and FAVICON in html


@pytest.mark.parametrize("path, signed_in", [
    ("/admin/login/", False), ("/admin/", True), ("/api/parts/", True), ("/api/redoc/", False), ("/login/", False),
    ("/stats/", True),
])
def test_every_page_has_partsites_icon(admin_client, client, path, signed_in):
    response = (admin_client if signed_in else client).get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 200, path
    assert FAVICON in response.content.decode(), path


def test_swagger_ui_has_partsites_icon(client):
    assert '<link rel="icon" href="/static/partsite/favicon.svg">' in client.get("/api/docs/").content.decode()
