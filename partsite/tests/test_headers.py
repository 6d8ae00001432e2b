"""The security headers every page carries: a strict Content-Security-Policy, a Permissions-Policy,
and no caching of signed-in pages. The browser tests check that the pages still work under them."""

import re

import pytest
from django.test import Client

from conftest import client_for
from files.tests.helpers import convert_now, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.lifecycle import Status
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.fixture
def shop(lead, fabricator):
    """A part with a converted STEP revision and a drawing, for pages that show everything."""
    part = make_part(Status.IN_PROGRESS, assignee=fabricator, name="Gusset")
    uploader = client_for(fabricator)
    revision = post_file(uploader, part, box_step()).json()
    convert_now(revision["id"])
    post_file(uploader, part, pdf_bytes(), "gusset.pdf")
    return part


def pages(part):
    return ["/", f"/parts/{part.pk}/", "/stats/", "/audit/", "/admin/", "/admin/parts/part/",
            "/admin/files/revision/", f"/admin/parts/part/{part.pk}/change/"]


def test_every_page_carries_a_strict_content_security_policy(shop, lead):
    client = logged_in(lead)

    for path in pages(shop):
        response = client.get(path)
        assert response.status_code == 200, path
        directives = policy(response)
        assert directives["default-src"] == ["'self'"], path
        assert directives["object-src"] == ["'none'"], path
        assert directives["base-uri"] == ["'none'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["form-action"] == ["'self'"], path
        for directive in ("script-src", "style-src"):
            assert directives[directive][0] == "'self'", path
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:"} & set(directives[directive]), path


def test_no_page_needs_inline_code_or_inline_styles(shop, lead):
    client = logged_in(lead)

    for path in pages(shop):
        html = client.get(path).content.decode()
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # onclick= and friends
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script or "nonce=" in script or 'type="application/json"' in script, (path, script)


def test_the_inline_import_map_carries_the_pages_nonce(shop, fabricator):
    response = logged_in(fabricator).get(f"/parts/{shop.pk}/")

    [nonce] = re.findall(r'<script type="importmap" nonce="([^"]+)">', response.content.decode())
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]
    assert logged_in(fabricator).get(f"/parts/{shop.pk}/").content.decode().count(nonce) == 0  # new each time


def test_badges_keep_their_status_colours_from_the_lifecycle_table(shop, fabricator):
    html = logged_in(fabricator).get(f"/parts/{shop.pk}/").content.decode()

    assert 'data-badge="#6b46c1"' in html  # in progress
    assert re.search(r'\[data-badge="#6b46c1"\]\s*\{\s*--badge:\s*#6b46c1', html)


def test_the_browser_may_upload_straight_to_the_s3_bucket_and_nowhere_else(storage_backend, settings, fabricator):
    part = make_part()

    sources = policy(logged_in(fabricator).get(f"/parts/{part.pk}/"))["connect-src"]

    if storage_backend == "s3":
        assert sources == ["'self'", settings.AWS_S3_PUBLIC_ENDPOINT_URL]
    else:
        assert sources == ["'self'"]


def test_the_public_storage_address_is_the_one_allowed_when_it_differs(settings, fabricator):
    settings.AWS_STORAGE_BUCKET_NAME = "partsite"
    settings.AWS_S3_ENDPOINT_URL = "http://minio:9000"
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = "https://files.example.com"
    settings.AWS_S3_ADDRESSING_STYLE = "path"

    sources = policy(logged_in(fabricator).get("/stats/"))["connect-src"]

    assert sources == ["'self'", "https://files.example.com"]


def test_on_aws_itself_only_the_buckets_own_host_is_allowed(settings, fabricator):
    settings.AWS_STORAGE_BUCKET_NAME = "partsite-files"
    settings.AWS_S3_ENDPOINT_URL = settings.AWS_S3_PUBLIC_ENDPOINT_URL = None
    settings.AWS_S3_REGION_NAME = "eu-west-1"
    settings.AWS_S3_ADDRESSING_STYLE = "auto"

    sources = policy(logged_in(fabricator).get("/stats/"))["connect-src"]

    assert sources == ["'self'", "https://partsite-files.s3.amazonaws.com", "https://partsite-files.s3.eu-west-1.amazonaws.com"]


def test_the_api_docs_load_their_scripts_from_the_site_itself(db, client):
    swagger = client.get("/api/docs/")
    html = swagger.content.decode()

    assert re.search(r'<script src="/api/docs/\?script="', html)  # Swagger UI's setup, not inline
    assert "'unsafe-inline'" not in policy(swagger)["script-src"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_only_the_browsable_api_may_lay_itself_out_with_style_attributes(lead):
    client = logged_in(lead)

    page = client.get("/api/parts/", HTTP_ACCEPT="text/html")
    browsable = policy(page)
    as_json = policy(client.get("/api/parts/"))
    board = policy(client.get("/"))

    assert browsable["style-src-attr"] == ["'unsafe-inline'"]
    assert "'unsafe-inline'" not in browsable["script-src"] + browsable["style-src"]
    assert "style-src-attr" not in as_json and "style-src-attr" not in board
    assert not re.search(r"\son[a-z]+=", page.content.decode())  # DRF's logout link had an onclick


def test_the_permissions_policy_turns_off_what_partsite_never_uses(lead):
    response = logged_in(lead).get("/")

    features = dict(item.split("=", 1) for item in response["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


@pytest.mark.parametrize("path", ["/", "/stats/", "/audit/", "/api/parts/", "/api/auth/check/"])
def test_signed_in_pages_are_never_stored_by_a_browser_or_proxy(lead, path):
    response = logged_in(lead).get(path)

    assert response.status_code == 200
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}


def test_a_part_page_is_not_stored_either(shop, viewer):
    response = logged_in(viewer).get(f"/parts/{shop.pk}/")

    assert "no-store" in response["Cache-Control"]


def test_static_files_and_previews_keep_their_own_caching(shop, viewer):
    client = logged_in(viewer)
    revision = shop.revisions.filter(kind="step").get()
    preview_url = client.get(f"/api/revisions/{revision.pk}/").json()["preview_url"]

    static = client.get("/static/partsite/site.css")
    preview = client.get(preview_url)

    assert "no-store" not in static.get("Cache-Control", "")
    assert preview["Cache-Control"] == "private, max-age=31536000, immutable"


def test_the_login_page_is_not_stored(db, client):
    assert "no-store" in client.get("/login/")["Cache-Control"]
