"""A webhook receiver for the tests: a real HTTP server on this machine that checks each message's
signature with the `standardwebhooks` library, as an integrator's receiver would, and answers
as it is told (fail a few times, redirect, be slow)."""

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from partsite.testing import listening


@dataclass
class Received:
    headers: dict
    body: bytes
    payload: dict | None  # None when the signature did not verify
    refusal: str = ""


@dataclass
class Receiver:
    secret: str = ""
    # Status codes to answer, one per request, then 204 for good.
    answers: list = field(default_factory=list)
    delay_seconds: float = 0.0
    redirect_to: str = ""
    received: list = field(default_factory=list)
    url: str = ""

    def verified(self):
        return [message.payload for message in self.received if message.payload is not None]

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


def _handler(receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = dict(self.headers.items())
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
                refusal = ""
            except WebhookVerificationError as error:
                payload, refusal = None, str(error)
            receiver.received.append(Received(headers, body, payload, refusal))
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            status = receiver.answers.pop(0) if receiver.answers else 204
            self.send_response(302 if receiver.redirect_to else status)
            if receiver.redirect_to:
                self.send_header("Location", receiver.redirect_to)
            answer = json.dumps({"ok": 200 <= status < 300}).encode()
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


def start(receiver, path="/hook"):
    server = listening(_handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    return server
