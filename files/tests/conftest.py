"""Fixtures of the files tests: a fake Onshape on this machine, and the settings that point Partsite at it."""

import pytest

from files.tests.fake_onshape import ACCESS_KEY, SECRET_KEY, FakeOnshape, start


@pytest.fixture
def fake_onshape(settings):
    """A fake Onshape that Partsite's imports talk to, polled without waiting."""
    fake = FakeOnshape()
    server = start(fake)
    settings.ONSHAPE_API_URL = fake.url
    settings.ONSHAPE_ACCESS_KEY, settings.ONSHAPE_SECRET_KEY = ACCESS_KEY, SECRET_KEY
    settings.ONSHAPE_POLL_SECONDS = 0
    yield fake
    server.shutdown()
    server.server_close()
