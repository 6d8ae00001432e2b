"""CSV cells a spreadsheet opens as text, never as a formula."""

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """Text as it is, except that a cell a spreadsheet would run as a formula gets an apostrophe in
    front (spreadsheets show the text and hide the apostrophe). Numbers and None pass as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_text(value):
    """spreadsheet_cell(value) as text."""
    return "" if value is None else spreadsheet_cell(str(value))
