"""A fake Onshape for the tests: a real HTTP server on this machine with the endpoints an import uses.

It checks every request's API-key signature as Onshape documents it (its own code, written from
the documentation, not Partsite's), refuses a stale Date or a nonce used twice, and exports
what each element holds. An element's `behaviour` says how its translation goes: `done` (on the
first look), `slow` (still ACTIVE for the first `slow_polls` looks), or `failed`. The first
download of each export is answered with a 307 to the same file elsewhere on the server, as
Onshape may do.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from partsite.testing import listening

ACCESS_KEY = "fake-access-key-0123456789"
SECRET_KEY = "fake-secret-key-abcdefghijklmnopqrstuvwxyz"
FAILURE_REASON = "Part Studio has no parts to export"


def new_id():
    return secrets.token_hex(12)


@dataclass
class Element:
    type: str  # PARTSTUDIO, ASSEMBLY or DRAWING
    name: str
    content: bytes
    behaviour: str = "done"  # done, slow or failed


@dataclass
class Document:
    id: str = field(default_factory=new_id)
    workspace: str = field(default_factory=new_id)
    version: str = field(default_factory=new_id)
    microversion: str = field(default_factory=new_id)
    elements: dict = field(default_factory=dict)

    def add(self, element):
        element_id = new_id()
        self.elements[element_id] = element
        return element_id

    def url(self, element_id, wvm="w", host="cad.onshape.com"):
        wvm_id = {"w": self.workspace, "v": self.version, "m": self.microversion}[wvm]
        return f"https://{host}/documents/{self.id}/{wvm}/{wvm_id}/e/{element_id}"


@dataclass
class Translation:
    document: Document
    element: Element
    format_name: str
    wvm: str
    wvm_id: str
    looks: int = 0
    result: str = field(default_factory=new_id)


class FakeOnshape:
    def __init__(self, *, slow_polls=3):
        self.documents, self.translations, self.nonces = {}, {}, set()
        self.slow_polls = slow_polls
        self.requests = []  # (method, path) of every request that passed the signature check
        self.refused = []  # why requests were refused
        self.downloads_redirected = set()
        self.lock = threading.Lock()
        self.url = ""

    def document(self):
        document = Document()
        self.documents[document.id] = document
        return document

    # The signature check, from Onshape's documentation

    def check_signature(self, method, path, query, headers):
        authorization = headers.get("Authorization", "")
        match = re.fullmatch(r"On (?P<key>[^:]+):HmacSHA256:(?P<signature>\S+)", authorization)
        if not match or match["key"] != ACCESS_KEY:
            return "no API key, or an unknown one"
        nonce, date = headers.get("On-Nonce", ""), headers.get("Date", "")
        if len(nonce) < 16:
            return "the nonce is shorter than 16 characters"
        with self.lock:
            if nonce in self.nonces:
                return "the nonce was used before"
            self.nonces.add(nonce)
        try:
            sent_at = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return "no Date header"
        if abs(datetime.now(tz=UTC) - sent_at) > timedelta(minutes=5):
            return "the Date is more than five minutes off"
        text = "\n".join([method, nonce, date, headers.get("Content-Type", ""), path, query, ""]).lower()
        expected = base64.b64encode(hmac.new(SECRET_KEY.encode(), text.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, match["signature"]):
            return "the signature does not match"
        return ""

    # The endpoints

    def answer(self, method, path, query, body):
        """(status, headers, body bytes) for a signed request."""
        parts = [piece for piece in path.split("/") if piece]
        if parts[:2] != ["api", "v6"]:
            return _json(404, {"message": "Not found"})
        route = parts[2:]
        if method == "GET" and len(route) == 6 and route[0] == "documents" and route[5] == "currentmicroversion":
            document = self.documents.get(route[2])
            if document is None or route[3] not in ("w", "v"):
                return _json(404, {"message": "No such document"})
            return _json(200, {"microversion": document.microversion})
        if method == "GET" and len(route) == 6 and route[0] == "documents" and route[5] == "elements":
            document = self.documents.get(route[2])
            wanted = parse_qs(query).get("elementId", [None])[0]
            if document is None:
                return _json(404, {"message": "No such document"})
            return _json(200, [
                {"id": element_id, "name": element.name, "elementType": element.type}
                for element_id, element in document.elements.items() if wanted in (None, element_id)
            ])
        if method == "POST" and len(route) == 8 and route[7] == "translations":
            return self._translate(route, json.loads(body or b"{}"))
        if method == "GET" and len(route) == 2 and route[0] == "translations":
            return self._translation_state(route[1])
        if method == "GET" and len(route) == 5 and route[0] == "documents" and route[3] == "externaldata":
            return self._download(path, query, route[2], route[4])
        return _json(404, {"message": "Not found"})

    def _translate(self, route, body):
        collection, document_id, wvm, wvm_id, element_id = route[0], route[2], route[3], route[4], route[6]
        document = self.documents.get(document_id)
        element = document.elements.get(element_id) if document else None
        if element is None:
            return _json(404, {"message": "No such element"})
        expected = {"partstudios": ("PARTSTUDIO", "STEP"), "assemblies": ("ASSEMBLY", "STEP"), "drawings": ("DRAWING", "PDF")}
        if expected.get(collection) != (element.type, body.get("formatName")) or body.get("storeInDocument") is not False:
            return _json(400, {"message": f"Cannot translate a {element.type} through {collection} as {body}"})
        translation_id = new_id()
        self.translations[translation_id] = Translation(document, element, body["formatName"], wvm, wvm_id)
        return _json(200, {"id": translation_id, "requestState": "ACTIVE", "documentId": document_id})

    def _translation_state(self, translation_id):
        translation = self.translations.get(translation_id)
        if translation is None:
            return _json(404, {"message": "No such translation"})
        translation.looks += 1
        state = {"id": translation_id, "documentId": translation.document.id}
        if translation.element.behaviour == "failed":
            return _json(200, {**state, "requestState": "FAILED", "failureReason": FAILURE_REASON})
        if translation.element.behaviour == "slow" and translation.looks <= self.slow_polls:
            return _json(200, {**state, "requestState": "ACTIVE"})
        return _json(200, {**state, "requestState": "DONE", "resultExternalDataIds": [translation.result]})

    def _download(self, path, query, document_id, external_id):
        for translation in self.translations.values():
            if translation.result == external_id and translation.document.id == document_id:
                if external_id not in self.downloads_redirected:
                    self.downloads_redirected.add(external_id)
                    return 307, {"Location": f"{self.url}{path}?served=1"}, b""
                return 200, {"Content-Type": "application/octet-stream"}, translation.element.content
        return _json(404, {"message": "No such file"})

    def translated(self):
        """(collection format, w/v/m, id) of each translation asked for."""
        return [(t.format_name, t.wvm, t.wvm_id) for t in self.translations.values()]


def _json(status, body):
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _handler(fake):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            split = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            refusal = fake.check_signature(self.command, split.path, split.query, self.headers)
            if refusal:
                fake.refused.append(refusal)
                status, headers, answer = _json(401, {"message": f"Unauthenticated: {refusal}"})
            else:
                fake.requests.append((self.command, split.path))
                status, headers, answer = fake.answer(self.command, split.path, split.query, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _serve  # noqa: N815 (http.server's names)

        def log_message(self, *args):
            pass

    return Handler


def start(fake):
    server = listening(_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server
