"""Onshape links: the document, workspace (or version, or microversion) and element a part's model lives in.

A part's `onshape_url` is what Onshape's address bar shows for an element (a tab):
`https://cad.onshape.com/documents/<document>/w/<workspace>/e/<element>`, with `v/<version>` or
`m/<microversion>` in place of `w/<workspace>`. Enterprise stacks have their own host, named in
ONSHAPE_HOSTS. The import (files.onshape_import) reads the ids from here.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

_ID = r"[0-9a-fA-F]{24}"
_PATH = re.compile(rf"^/documents/(?P<document>{_ID})/(?P<wvm>[wvm])/(?P<wvm_id>{_ID})/e/(?P<element>{_ID})/?$")
WVM_NAMES = {"w": "workspace", "v": "version", "m": "microversion"}


@dataclass(frozen=True)
class OnshapeRef:
    """Where in Onshape: document id, `w`/`v`/`m` and its id, element id."""

    document: str
    wvm: str
    wvm_id: str
    element: str


def _hosts():
    return [host.lower() for host in settings.ONSHAPE_HOSTS]


def _example():
    return f"https://{_hosts()[0]}/documents/<document>/w/<workspace>/e/<element>"


def onshape_ref(url):
    """The ids in an Onshape element URL; ValidationError saying what is wrong otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in _hosts():
        raise ValidationError(
            f"An Onshape link must be an https address on {' or '.join(_hosts())}, such as {_example()}.",
            code="onshape_host",
        )
    match = _PATH.match(parts.path)
    if match is None:
        raise ValidationError(
            f"An Onshape link must point at one tab of a document, such as {_example()} (copy it from the "
            "address bar with the part studio, assembly or drawing open).",
            code="onshape_path",
        )
    return OnshapeRef(**{name: value.lower() for name, value in match.groupdict().items()})


def validate_onshape_url(value):
    """The model's check of `onshape_url`. What is not a web address at all is left to URLField's own check."""
    if value and urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc:
        onshape_ref(value)
