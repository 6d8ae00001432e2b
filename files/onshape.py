"""A small client for the parts of Onshape's REST API that an import uses, signed with an API key pair.

Each request carries Onshape's API-key signature (its documentation, "API Keys"): an HMAC-SHA256,
with the secret key, of the method, a fresh nonce, the Date header, the Content-Type, the path
and the query string, each followed by a newline and all lower-cased, sent as
`Authorization: On <access key>:HmacSHA256:<base64 signature>` with `On-Nonce` and `Date`.
Onshape answers some requests with a 307 to another address; the request is signed again for it
and followed only to the API's own host.

Endpoints used (v6): an element's type, a workspace's or version's current microversion, starting
a translation (part studio, assembly or drawing), reading its state, downloading its result.
"""

import base64
import hashlib
import hmac
import secrets
import string
from email.utils import formatdate
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings

API = "/api/v6"
NONCE_CHARACTERS = string.ascii_letters + string.digits
MAX_REDIRECTS = 3
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


class OnshapeError(Exception):
    """Onshape refused or could not be reached; the message is safe to show. `retry` when trying later may help."""

    def __init__(self, message, *, retry=False):
        super().__init__(message)
        self.retry = retry


def signature(*, secret_key, method, nonce, date, content_type, path, query):
    """Onshape's API-key signature of one request, in base64."""
    text = f"{method}\n{nonce}\n{date}\n{content_type}\n{path}\n{query}\n".lower()
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).digest()).decode()


class Onshape:
    def __init__(self, *, base_url, access_key, secret_key, timeout):
        self.base_url, self.access_key, self.secret_key, self.timeout = base_url.rstrip("/"), access_key, secret_key, timeout

    @classmethod
    def from_settings(cls):
        return cls(
            base_url=settings.ONSHAPE_API_URL, access_key=settings.ONSHAPE_ACCESS_KEY,
            secret_key=settings.ONSHAPE_SECRET_KEY, timeout=settings.ONSHAPE_TIMEOUT_SECONDS,
        )

    # The endpoints

    def element(self, document, wvm, wvm_id, element):
        """The element's description: `elementType` (PARTSTUDIO, ASSEMBLY, DRAWING, ...) and `name`."""
        found = self._json("GET", f"{API}/documents/d/{document}/{wvm}/{wvm_id}/elements", {"elementId": element})
        match = [item for item in found if item.get("id") == element]
        if not match:
            raise OnshapeError(f"The document has no element {element} there.")
        return match[0]

    def current_microversion(self, document, wv, wv_id):
        return self._json("GET", f"{API}/documents/d/{document}/{wv}/{wv_id}/currentmicroversion")["microversion"]

    def translation_start(self, collection, document, wvm, wvm_id, element, format_name):
        """Ask Onshape to export an element (`collection`: partstudios, assemblies or drawings); returns the request."""
        body = {"formatName": format_name, "storeInDocument": False}
        return self._json("POST", f"{API}/{collection}/d/{document}/{wvm}/{wvm_id}/e/{element}/translations", body=body)

    def translation(self, translation_id):
        """The state of a translation: `requestState` ACTIVE, DONE (`resultExternalDataIds`) or FAILED (`failureReason`)."""
        return self._json("GET", f"{API}/translations/{translation_id}")

    def download(self, document, external_id, into, *, max_bytes):
        """Write a translation's result into the open binary file `into`, chunk by chunk; returns its size."""
        path = f"{API}/documents/d/{document}/externaldata/{external_id}"
        with self._request("GET", path, accept="application/octet-stream", stream=True) as response:
            size = 0
            for chunk in response.iter_content(DOWNLOAD_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise OnshapeError(f"Onshape's export is larger than the {max_bytes // 2**20} MB upload limit.")
                into.write(chunk)
        return size

    # Signed requests

    def _json(self, method, path, query=None, *, body=None):
        with self._request(method, path, query, body=body) as response:
            try:
                return response.json()
            except ValueError:
                raise OnshapeError(f"Onshape answered {path} with something other than JSON.", retry=True) from None

    def _request(self, method, path, query=None, *, body=None, accept="application/json", stream=False):
        if not (self.access_key and self.secret_key):
            raise OnshapeError("No Onshape API key is configured (ONSHAPE_ACCESS_KEY and ONSHAPE_SECRET_KEY).")
        base, query_string = self.base_url, urlencode(query or {})
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = requests.request(
                    method, f"{base}{path}" + (f"?{query_string}" if query_string else ""),
                    headers=self._headers(method, path, query_string, accept), json=body, timeout=self.timeout,
                    allow_redirects=False, stream=stream,
                )
            except requests.RequestException as error:
                raise OnshapeError(f"Onshape could not be reached: {type(error).__name__}: {error}", retry=True) from None
            if response.status_code != 307:
                break
            base, path, query_string = self._redirected(response)
        else:
            raise OnshapeError(f"Onshape redirected {path} more than {MAX_REDIRECTS} times.")
        if response.status_code >= 400:
            refusal = _refusal(response)
            response.close()
            raise OnshapeError(refusal, retry=response.status_code == 429 or response.status_code >= 500)
        return response

    def _redirected(self, response):
        target = urlsplit(response.headers.get("Location", ""))
        response.close()
        if target.netloc and target.netloc != urlsplit(self.base_url).netloc:
            raise OnshapeError(f"Onshape redirected to another host ({target.netloc}); not followed.")
        return self.base_url, target.path, target.query

    def _headers(self, method, path, query_string, accept):
        nonce = "".join(secrets.choice(NONCE_CHARACTERS) for _ in range(25))
        date = formatdate(usegmt=True)
        content_type = "application/json"
        signed = signature(
            secret_key=self.secret_key, method=method, nonce=nonce, date=date, content_type=content_type, path=path,
            query=query_string,
        )
        return {
            "Authorization": f"On {self.access_key}:HmacSHA256:{signed}", "On-Nonce": nonce, "Date": date,
            "Content-Type": content_type, "Accept": accept, "User-Agent": "Partsite",
        }


def _refusal(response):
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = ""
    return f"Onshape refused the request (HTTP {response.status_code}){': ' + message if message else ''}."
