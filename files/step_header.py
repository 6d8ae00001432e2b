"""Is an upload a STEP file, and what does its header say?

Everything here works on the first bytes of a file (`head`, at most a few hundred KiB),
never on the whole file, and raises nothing but `InvalidContent`, whatever the bytes.
"""

import re
from dataclasses import dataclass, field

STEP_MAGIC = "ISO-10303-21;"
PDF_MAGIC = b"%PDF-"
PDF_JUNK_ALLOWED = 1024  # PDF readers accept this much before %PDF-
FIELD_LIMIT = 500  # header strings are free text; a hostile one stays bounded
PRODUCT_NAME_LIMIT = 200
PRODUCT_NAMES_MAX = 50

MAGIC_NUMBERS = (
    (b"\x1f\x8b", "compressed with gzip; upload the uncompressed .step"),
    (b"PK\x03\x04", "a ZIP archive; unzip it and upload the .step inside"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (PDF_MAGIC, "a PDF document"),
)
UNICODE_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
UTF8_BOM = b"\xef\xbb\xbf"

# FILE_SCHEMA names that do not say their application protocol (AP) number.
SCHEMA_FAMILIES = {
    "CONFIG_CONTROL_DESIGN": "AP203",
    "AUTOMOTIVE_DESIGN": "AP214",
    "AUTOMOTIVE_DESIGN_CC2": "AP214",
    "STRUCTURAL_ANALYSIS_DESIGN": "AP209",
}
AP_PREFIX = re.compile(r"AP(\d{3})_")
OBJECT_ID = re.compile(r"\{\s*1\s+0\s+10303\s+(\d+)")
MIM_MODULE_OFFSET = 200  # the modular APs' MIM parts are numbered AP + 200: 442 is AP242

TOKEN = re.compile(
    r"""(?P<string>'(?:[^']|'')*')
      | (?P<comment>/\*.*?\*/)
      | (?P<keyword>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<punctuation>[(),;])
      | (?P<atom>[^\s(),;'/]+|\S)""",
    re.S | re.X,
)
STRING_ESCAPE = re.compile(
    r"\\X2\\((?:[0-9A-F]{4})*)\\X0\\|\\X4\\((?:[0-9A-F]{8})*)\\X0\\"
    r"|\\X\\([0-9A-F]{2})|\\S\\(.)|\\P[A-I]\\|\\\\",
    re.S | re.I,
)
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PRODUCT = re.compile(
    r"(?<![A-Za-z0-9_])PRODUCT\s*\(\s*'((?:[^']|'')*)'\s*,\s*'((?:[^']|'')*)'", re.I
)


class InvalidContent(ValueError):
    """The upload is not what it claims to be; the message is meant for the user."""


@dataclass
class StepHeader:
    schema_family: str
    file_schema: str
    originating_system: str = ""
    preprocessor_version: str = ""
    author: str = ""
    organization: str = ""
    timestamp: str = ""
    file_name: str = ""
    description: str = ""
    product_names: list[str] = field(default_factory=list)


def sniff_step(head: bytes) -> StepHeader:
    if known := _known_format(head):
        raise InvalidContent(f"not a STEP file: {known}")
    text = _decode_text(head)
    if not text.lstrip().startswith(STEP_MAGIC):
        raise InvalidContent(f"not a STEP file: {_what_the_text_looks_like(text)}")
    rest = text.lstrip().removeprefix(STEP_MAGIC)
    tokens, header_end = _header_tokens(rest)
    if [value for _, value in tokens[:2]] != ["HEADER", ";"]:
        raise InvalidContent("not a STEP file: there is no HEADER section after ISO-10303-21;")
    entities = _header_entities(tokens[2:])
    schemas = [_text(name) for name in _strings(entities.get("FILE_SCHEMA"))]
    if not any(schemas):
        raise InvalidContent("not a STEP file: its HEADER has no FILE_SCHEMA")
    if any(name.upper().startswith("IFC") for name in schemas):
        raise InvalidContent(
            "this is an IFC (BIM) file; IFC files are not accepted, only STEP CAD files"
        )
    name = entities.get("FILE_NAME") or []
    return StepHeader(
        schema_family=schema_family(schemas),
        file_schema=_limit(", ".join(schemas)),
        file_name=_joined(name[0:1]),
        timestamp=_joined(name[1:2]),
        author=_joined(name[2:3]),
        organization=_joined(name[3:4]),
        preprocessor_version=_joined(name[4:5]),
        originating_system=_joined(name[5:6]),
        description=_joined((entities.get("FILE_DESCRIPTION") or [])[0:1]),
        product_names=_product_names(rest[header_end:]),
    )


STEP_END = b"END-ISO-10303-21;"
# What may follow the closing line: white space, and the NUL or Ctrl-Z padding some writers leave.
TRAILING_BLANKS = b" \t\r\n\x0b\x0c\x00\x1a"


def sniff_step_end(tail: bytes) -> None:
    """A STEP file ends with END-ISO-10303-21; (then perhaps white space and comments): else it was cut short."""
    text = tail.rstrip(TRAILING_BLANKS)
    while text.endswith(b"*/") and (start := text.rfind(b"/*")) >= 0:
        text = text[:start].rstrip(TRAILING_BLANKS)
    if not text.upper().endswith(STEP_END):
        raise InvalidContent(
            "the STEP file is truncated: it does not end with END-ISO-10303-21; "
            "(the download or export was cut short; send the whole file)"
        )


def sniff_pdf(head: bytes) -> None:
    if PDF_MAGIC not in head[: PDF_JUNK_ALLOWED + len(PDF_MAGIC)]:
        known = _known_format(head) or "it does not start with %PDF-"
        raise InvalidContent(f"not a PDF file: {known}")


DXF_BINARY_MAGIC = b"AutoCAD Binary DXF\r\n\x1a\x00"
DXF_HEAD_LINES = 200  # comments (group 999) may come before the first section


def sniff_dxf(head: bytes) -> None:
    """A DXF drawing starts with its first SECTION (group code 0), after any comments; a binary
    DXF with its own sentinel."""
    if head.startswith(DXF_BINARY_MAGIC):
        return
    lines = head.removeprefix(UTF8_BOM)[:64 * 1024].decode("latin-1").splitlines()[:DXF_HEAD_LINES]
    for code, value in zip(lines[::2], lines[1::2]):
        code, value = code.strip(), value.strip()
        if code == "999":
            continue
        if code == "0" and value == "SECTION":
            return
        break
    known = _known_format(head) or "it does not start with a DXF section (0 / SECTION)"
    raise InvalidContent(f"not a DXF drawing: {known}")


def schema_family(schemas: list[str]) -> str:
    """'AP203', 'AP214', 'AP242', ... for the first FILE_SCHEMA name we recognise, else ''."""
    for schema in schemas:
        name = schema.split("{")[0].strip().upper()
        if name in SCHEMA_FAMILIES:
            return SCHEMA_FAMILIES[name]
        if match := AP_PREFIX.match(name):
            return f"AP{match[1]}"
        if match := OBJECT_ID.search(schema):
            part = int(match[1])
            return f"AP{part - MIM_MODULE_OFFSET if 400 < part < 500 else part}"
    return ""


def _known_format(head: bytes) -> str:
    if not head:
        return "the file is empty (0 bytes)"
    for magic, description in MAGIC_NUMBERS:
        if head.startswith(magic):
            return f"it is {description}"
    return ""


def _decode_text(head: bytes) -> str:
    encoding = _wide_encoding(head)
    if encoding:
        # CAD importers, Open CASCADE included, read STEP as bytes, so a UTF-16 or UTF-32
        # file fails at conversion with no hint why; say so now, and why, instead.
        text = head.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
        kind = "STEP file" if text.startswith(STEP_MAGIC) else "file"
        raise InvalidContent(
            f"this {kind} is saved as {encoding[:6].upper()} text, which CAD importers cannot "
            "read; save or export it again as a plain (ASCII or UTF-8) STEP file"
        )
    head = head.removeprefix(UTF8_BOM)
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # the head cut a character in two
            return head[: error.start].decode("utf-8")
        return head.decode("latin-1")


def _wide_encoding(head: bytes) -> str:
    for bom, encoding in UNICODE_BOMS:
        if head.startswith(bom):
            return encoding
    sample = head[:200]
    pairs = len(sample) // 2
    if pairs >= 4:
        if sample[1::2].count(0) > 0.8 * pairs and not sample[0::2].count(0):
            return "utf-16-le"
        if sample[0::2].count(0) > 0.8 * pairs and not sample[1::2].count(0):
            return "utf-16-be"
    return ""


def _what_the_text_looks_like(text: str) -> str:
    if not text.strip():
        return "the file is empty (only whitespace)"
    first_line = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    if len(first_line) == 80 and first_line[72] in "SG" and first_line[73:].strip().isdigit():
        return "it looks like an IGES file; export it as STEP (AP214 or AP242) instead"
    if "\x00" in text:
        return "it is binary data, not text"
    return "it does not start with ISO-10303-21;"


def _header_tokens(text: str) -> tuple[list[tuple[str, str]], int]:
    """The (kind, value) tokens up to the header's ENDSEC, and where the text after it starts."""
    tokens = []
    for match in TOKEN.finditer(text):
        if match.lastgroup != "comment":
            tokens.append((match.lastgroup, match[0]))
        if tokens[-2:] == [("keyword", "ENDSEC"), ("punctuation", ";")]:
            return tokens, match.end()
    return tokens, len(text)


def _header_entities(tokens) -> dict[str, list]:
    """Parse `NAME(parameters);` records into {NAME: nested lists of strings and None}."""
    entities, name, open_lists = {}, None, []
    for kind, value in tokens:
        if value == "(":
            open_lists.append([])
        elif value == ")" and open_lists:
            done = open_lists.pop()
            if open_lists:
                open_lists[-1].append(done)
            elif name:
                entities.setdefault(name, done)
                name = None
        elif value == ";":
            name, open_lists = None, []
        elif kind == "keyword" and not open_lists:
            name = value.upper()
        elif kind == "string" and open_lists:
            open_lists[-1].append(value[1:-1])
        elif value != "," and open_lists:
            open_lists[-1].append(None)
    return entities


def _strings(value) -> list[str]:
    """All the strings in a parameter, lists flattened."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [string for item in value for string in _strings(item)]
    return []


def _joined(parameters) -> str:
    return _limit(", ".join(text for text in map(_text, _strings(parameters)) if text))


def _text(raw: str) -> str:
    """A STEP string's text: '' and backslash escapes decoded, line breaks and controls gone."""
    raw = raw.replace("\r", "").replace("\n", "").replace("''", "'")
    return CONTROL_CHARS.sub("", STRING_ESCAPE.sub(_unescape, raw)).strip()


def _unescape(match: re.Match) -> str:
    utf16, utf32, latin1, high = match.groups()
    if utf16 is not None:
        return bytes.fromhex(utf16).decode("utf-16-be", errors="replace")
    if utf32 is not None:
        return bytes.fromhex(utf32).decode("utf-32-be", errors="replace")
    if latin1 is not None:
        return chr(int(latin1, 16))
    if high is not None:
        return chr(ord(high) + 128) if ord(high) < 128 else high
    return "" if match[0].startswith("\\P") else "\\"


def _product_names(data: str) -> list[str]:
    names = []
    for match in PRODUCT.finditer(data):
        name = _text(match[2]) or _text(match[1])
        name = name[:PRODUCT_NAME_LIMIT]
        if name and name not in names:
            names.append(name)
            if len(names) == PRODUCT_NAMES_MAX:
                break
    return names


def _limit(text: str) -> str:
    return text[:FIELD_LIMIT]
