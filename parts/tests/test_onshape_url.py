"""A part's Onshape link must name one tab of a document on an Onshape host: checked wherever parts are written."""

import pytest

from parts.models import Part

DOC, WORKSPACE, ELEMENT = "0123456789abcdef01234567", "89abcdef0123456789abcdef", "fedcba9876543210fedcba98"
GOOD = f"https://cad.onshape.com/documents/{DOC}/w/{WORKSPACE}/e/{ELEMENT}"


def create(client, **fields):
    return client.post("/api/parts/", {"name": "Bracket", **fields}, format="json")


@pytest.mark.parametrize("url", [
    GOOD,
    f"https://cad.onshape.com/documents/{DOC}/v/{WORKSPACE}/e/{ELEMENT}",
    f"https://cad.onshape.com/documents/{DOC}/m/{WORKSPACE}/e/{ELEMENT}?configuration=default",
    f"https://CAD.onshape.com/documents/{DOC.upper()}/w/{WORKSPACE}/e/{ELEMENT}/",
])
def test_links_to_a_tab_of_an_onshape_document_are_taken(as_fabricator, url):
    response = create(as_fabricator, onshape_url=url)

    assert response.status_code == 201, response.json()
    assert Part.objects.get().onshape_url == url


@pytest.mark.parametrize("url,says", [
    (f"https://evil.example.com/documents/{DOC}/w/{WORKSPACE}/e/{ELEMENT}", "on cad.onshape.com"),
    (f"http://cad.onshape.com/documents/{DOC}/w/{WORKSPACE}/e/{ELEMENT}", "https address"),
    (f"https://cad.onshape.com/documents/{DOC}", "one tab of a document"),
    (f"https://cad.onshape.com/documents/{DOC}/x/{WORKSPACE}/e/{ELEMENT}", "one tab of a document"),
    ("https://cad.onshape.com/documents/short/w/short/e/short", "one tab of a document"),
])
def test_other_links_are_a_400_saying_what_an_onshape_link_looks_like(as_fabricator, url, says):
    response = create(as_fabricator, onshape_url=url)

    assert response.status_code == 400
    assert says in response.json()["onshape_url"][0]
    assert not Part.objects.exists()


def test_an_enterprise_host_is_taken_once_configured(as_fabricator, settings):
    enterprise = GOOD.replace("cad.onshape.com", "acme.onshape.com")
    assert create(as_fabricator, onshape_url=enterprise).status_code == 400

    settings.ONSHAPE_HOSTS = ["cad.onshape.com", "acme.onshape.com"]

    assert create(as_fabricator, onshape_url=enterprise).status_code == 201


def test_what_is_not_a_web_address_gets_the_usual_message_only(as_fabricator):
    response = create(as_fabricator, onshape_url="not a url")

    assert response.json()["onshape_url"] == ["Enter a valid URL."]


def test_the_admin_refuses_a_bad_link_too(client, lead):
    client.force_login(lead)

    response = client.post("/admin/parts/part/add/", {
        "name": "Bracket", "type": "cnc", "amount": 1, "onshape_url": "https://example.com/documents/x",
    })

    assert response.status_code == 200
    assert "must be an https address on cad.onshape.com" in response.content.decode()
    assert not Part.objects.exists()


@pytest.mark.parametrize("url", [
    'https://example.com/"><script>alert(1)</script>',
    f'https://cad.onshape.com/documents/{DOC}/w/{WORKSPACE}/e/{ELEMENT}"><script>alert(1)</script>',
])
def test_markup_in_a_link_is_refused_with_a_message(as_fabricator, url):
    response = create(as_fabricator, onshape_url=url)

    assert response.status_code == 400
    assert response.json()["onshape_url"][0]
    assert not Part.objects.exists()
