"""A small shop for the schema fuzzing (.ci/schemathesis.sh): a lead, a fabricator and a viewer
with API keys, and parts in several states with STEP revisions and drawings, written through the
API as a client would. Run in a fresh data dir by `manage.py shell`; prints `role key` lines."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from files.tests.samples import box_step, pdf_bytes
from partsite.services import apikey_create, user_create

ROLES = ("lead", "fabricator", "viewer")


def _client(key):
    return Client(HTTP_X_API_KEY=key, SERVER_NAME="localhost")


def _ok(response):
    assert response.status_code < 300, (response.status_code, response.content[:500])
    return response.json()


def seed():
    keys = {}
    for role in ROLES:
        user = user_create(username=f"fuzz-{role}", role=role, password=f"fuzz-{role}-secret-pw")
        keys[role] = apikey_create(user=user)[1]
    lead, fabricator = _client(keys["lead"]), _client(keys["fabricator"])
    for number in range(1, 5):
        part = _ok(lead.post("/api/parts/", {"name": f"Bracket {number}", "amount": number, "subsystem": "Frame"},
                             content_type="application/json"))
        for size in (10, 20):
            latest = _ok(fabricator.post(f"/api/parts/{part['id']}/revisions/",
                                         {"file": SimpleUploadedFile("bracket.step", box_step(size * number, 10, 5))}))
        _ok(fabricator.post(f"/api/parts/{part['id']}/revisions/",
                            {"file": SimpleUploadedFile("bracket.pdf", pdf_bytes(1000 + number))}))
        if number >= 2:
            # Named: nothing converts it here, and an unconverted model is approved only by name.
            _ok(lead.post(f"/api/parts/{part['id']}/approve/", {"revision": latest["id"]}, content_type="application/json"))
        if number >= 3:
            _ok(fabricator.post(f"/api/parts/{part['id']}/claim/"))
        if number >= 4:
            _ok(fabricator.post(f"/api/parts/{part['id']}/complete/"))
    for role, key in keys.items():
        print(role, key)

