"""files.names.filename_clean: the one cleaning of a file's name, whichever way the file came."""

import pytest

from files.names import MAX_FILENAME_CHARS, filename_clean


@pytest.mark.parametrize("sent, stored", [
    ("bracket.step", "bracket.step"),
    ("../../d.step", "d.step"),
    ("C:\\Users\\bob\\part.stp", "part.stp"),
    ("evil\r\nSet-Cookie: x.step", "evilSet-Cookie: x.step"),
    ("invoice\u202egpj.step", "invoicegpj.step"),
    ("line\u2028para\u2029.step", "linepara.step"),
    ("tab\there\x00\x7f\x85.pdf", "tabhere.pdf"),
    ("  ..hidden.step  ", "hidden.step"),
    ("Tra\u0308ger.step", "Träger.step"),
    ("..", "file"),
    ("", "file"),
    ("\u202e", "file"),
    (".step", "file.step"),
    ("/", "file"),
])
def test_a_name_keeps_only_what_can_be_shown_without_a_path(sent, stored):
    assert filename_clean(sent) == stored


def test_a_long_name_is_cut_short_keeping_its_extension():
    cleaned = filename_clean("x" * 400 + ".step")

    assert len(cleaned) == MAX_FILENAME_CHARS
    assert cleaned.endswith("x.step")
