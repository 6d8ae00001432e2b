"""The one way a file's name is cleaned, whichever way the file arrived (a form upload, a direct
upload, an Onshape import): what is stored and shown is a plain name, never a path or hidden text."""

import unicodedata
from pathlib import PurePosixPath

MAX_FILENAME_CHARS = 255  # Revision.filename and Upload.filename
NAMELESS = "file"


def filename_clean(name):
    """`name` without folders, without characters that are not printable (control characters,
    CR/LF, bidi overrides such as U+202E, line and paragraph separators U+2028/9, zero-width
    marks), without leading dots or surrounding spaces, at most MAX_FILENAME_CHARS long with its
    extension kept, and never empty."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(character for character in name if character.isprintable())
    name = name.strip()
    shown = name.lstrip(".").strip()  # no hidden files
    if shown and "." not in shown and shown != name:  # ".step": all extension
        shown = f"{NAMELESS}.{shown}"
    name = shown
    if len(name) > MAX_FILENAME_CHARS:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[: MAX_FILENAME_CHARS - len(suffix)].rstrip() + suffix
    if not PurePosixPath(name).stem.strip(". "):
        name = NAMELESS + name
    return name
