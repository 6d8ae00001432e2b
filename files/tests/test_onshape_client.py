"""The Onshape client against the fake Onshape, which checks each request's API-key signature itself."""

import io

import pytest

from files.onshape import Onshape, OnshapeError
from files.tests.fake_onshape import ACCESS_KEY, SECRET_KEY, Element
from files.tests.samples import box_step


@pytest.fixture
def client(fake_onshape):
    return Onshape(base_url=fake_onshape.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY, timeout=10)


@pytest.fixture
def document(fake_onshape):
    document = fake_onshape.document()
    document.studio = document.add(Element("PARTSTUDIO", "Bracket", box_step()))
    return document


def test_signed_requests_are_answered(client, document, fake_onshape):
    element = client.element(document.id, "w", document.workspace, document.studio)

    assert (element["elementType"], element["name"]) == ("PARTSTUDIO", "Bracket")
    assert client.current_microversion(document.id, "w", document.workspace) == document.microversion
    assert fake_onshape.refused == []


def test_a_wrong_secret_is_refused_by_onshape(document, fake_onshape):
    wrong = Onshape(base_url=fake_onshape.url, access_key=ACCESS_KEY, secret_key="not-the-secret", timeout=10)

    with pytest.raises(OnshapeError, match=r"HTTP 401\): Unauthenticated: the signature does not match") as refused:
        wrong.element(document.id, "w", document.workspace, document.studio)

    assert not refused.value.retry


def test_an_export_is_requested_followed_and_downloaded_through_a_redirect(client, document, fake_onshape):
    started = client.translation_start("partstudios", document.id, "m", document.microversion, document.studio, "STEP")
    state = client.translation(started["id"])
    assert state["requestState"] == "DONE"

    into = io.BytesIO()
    size = client.download(document.id, state["resultExternalDataIds"][0], into, max_bytes=10**6)

    assert into.getvalue() == box_step() and size == len(box_step())
    assert fake_onshape.translated() == [("STEP", "m", document.microversion)]
    assert fake_onshape.refused == []  # the redirected request was signed for its own path


def test_an_export_larger_than_the_upload_limit_is_refused(client, document):
    started = client.translation_start("partstudios", document.id, "w", document.workspace, document.studio, "STEP")
    result = client.translation(started["id"])["resultExternalDataIds"][0]

    with pytest.raises(OnshapeError, match="larger than the 0 MB upload limit"):
        client.download(document.id, result, io.BytesIO(), max_bytes=100)


def test_an_unknown_element_is_said_so(client, document):
    with pytest.raises(OnshapeError, match="no element"):
        client.element(document.id, "w", document.workspace, "f" * 24)


def test_onshape_out_of_reach_may_be_tried_again():
    unreachable = Onshape(base_url="http://127.0.0.1:8799", access_key="a", secret_key="b", timeout=2)

    with pytest.raises(OnshapeError, match="could not be reached") as failed:
        unreachable.current_microversion("d" * 24, "w", "w" * 24)

    assert failed.value.retry


def test_without_keys_nothing_is_sent(fake_onshape):
    with pytest.raises(OnshapeError, match="No Onshape API key is configured"):
        Onshape(base_url=fake_onshape.url, access_key="", secret_key="", timeout=2).translation("x")
    assert fake_onshape.requests == [] and fake_onshape.refused == []
