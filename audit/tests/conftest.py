"""What the notification and webhook tests share: telling in-process once a change commits, and a receiver."""

import pytest

from audit import webhooks
from audit.tests.receiver import Receiver, start
from partsite.testing import Telling


@pytest.fixture
def telling(django_capture_on_commit_callbacks):
    return Telling(django_capture_on_commit_callbacks)


@pytest.fixture
def receiver(settings):
    """A receiver on this machine that checks signatures; loopback endpoints are allowed for it."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    receiver = Receiver()
    server = start(receiver)
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(lead, receiver):
    """An endpoint for every event type, at the receiver, which knows its secret."""
    endpoint = webhooks.endpoint_create(actor=lead, url=receiver.url, description="Build dashboard")
    receiver.secret = endpoint.secret
    return endpoint
