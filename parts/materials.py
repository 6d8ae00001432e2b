"""Materials and thicknesses: a part's free-text material matched to the table, and its stated
thickness checked against the plate measured in its model.

A part names its material in free text (Part.material) and its stock thickness too
(Part.material_thickness: "1/4 in", "0.25in", "6 mm", "6.35", where a bare number is mm).
The measured side comes from the revision's geometry (files.geometry, read through
Revision.facts). `thickness_mismatch` is what the part page, the board card and the admin
show, and what an approval may ask a lead to confirm.
"""

import re
from dataclasses import dataclass
from fractions import Fraction

from files.models import Kind
from parts.lifecycle import Type
from parts.models import Material

# A stated and a measured thickness agree within the larger of these.
THICKNESS_TOLERANCE_MM = 0.05
THICKNESS_TOLERANCE_SHARE = 0.01
MM_PER_UNIT = {
    "mm": 1.0, "millimeter": 1.0, "millimetre": 1.0, "millimeters": 1.0, "millimetres": 1.0,
    "cm": 10.0, "in": 25.4, "inch": 25.4, "inches": 25.4, '"': 25.4, "″": 25.4,
}
# "1/4 in", "0.25in", "1 1/2 in", "6 mm", "6.35", '3/16"', "6,35 mm"
THICKNESS = re.compile(
    r"^\s*(?:(?P<whole>\d+)\s+(?=\d+\s*/))?(?P<number>\d+(?:[.,]\d+)?|\.\d+)(?:\s*/\s*(?P<denominator>\d+))?"
    r"\s*(?P<unit>mm|millimet(?:er|re)s?|cm|inch(?:es)?|in|\"|″)?\s*\.?\s*$",
    re.IGNORECASE,
)
SPELLINGS = (("aluminum", "aluminium"), ("alu ", "aluminium "))


def parse_thickness_mm(text: str) -> float | None:
    """The stated thickness in mm, or None when the text is empty or not a length this understands."""
    match = THICKNESS.match(text or "")
    if not match:
        return None
    number = Fraction(match["number"].replace(",", "."))
    if match["denominator"]:
        if int(match["denominator"]) == 0:
            return None
        number /= int(match["denominator"])
    if match["whole"]:
        number += int(match["whole"])
    unit = (match["unit"] or "mm").lower()
    return float(number) * MM_PER_UNIT[unit]


def _normalised(name: str) -> str:
    """Case, hyphens, word order and the American spelling ignored: "6061-T6 aluminum" is "Aluminium 6061 t6"."""
    name = " ".join((name or "").casefold().replace("-", " ").split()) + " "
    for variant, spelling in SPELLINGS:
        name = name.replace(variant, spelling)
    return " ".join(sorted(name.split()))


def materials_by_name(materials=None) -> dict:
    """Each material under its name and its other names, normalised: read once for a page of parts."""
    found = {}
    for material in Material.objects.all() if materials is None else materials:
        for name in [material.name, *material.other_names.split(",")]:
            if name.strip():
                found.setdefault(_normalised(name), material)
    return found


def material_for(text: str, by_name: dict | None = None) -> Material | None:
    """The table's material that a part's free-text material names, or None."""
    by_name = materials_by_name() if by_name is None else by_name
    return by_name.get(_normalised(text))


@dataclass(frozen=True)
class ThicknessMismatch:
    stated: str
    stated_mm: float
    measured_mm: float

    @property
    def difference_mm(self) -> float:
        return self.measured_mm - self.stated_mm

    @property
    def message(self) -> str:
        return (
            f"The model is a {self.measured_mm:.2f} mm plate, but the part says {self.stated} "
            f"({self.stated_mm:.2f} mm): {abs(self.difference_mm):.2f} mm {'thicker' if self.difference_mm > 0 else 'thinner'}."
        )


def thickness_mismatch(part, revision) -> ThicknessMismatch | None:
    """A CNC part's stated thickness against the plate measured in `revision` (the one the part page
    shows: approved, else latest). None when they agree, or when either side is unknown."""
    if part.type != Type.CNC or revision is None or not revision.geometry:
        return None
    measured = revision.facts.plate_thickness_mm
    stated = parse_thickness_mm(part.material_thickness)
    if measured is None or stated is None:
        return None
    tolerance = max(THICKNESS_TOLERANCE_MM, THICKNESS_TOLERANCE_SHARE * stated)
    if abs(measured - stated) <= tolerance:
        return None
    return ThicknessMismatch(part.material_thickness.strip(), stated, measured)


def thickness_mismatches(part) -> dict:
    """{revision: its ThicknessMismatch} for the part's STEP revisions whose plate is not as thick as the
    part says: the ones an approval would ask a lead to confirm."""
    if part is None or part.type != Type.CNC or parse_thickness_mm(part.material_thickness) is None:
        return {}
    found = {}
    for revision in part.revisions.filter(kind=Kind.STEP, geometry__isnull=False).order_by("-number"):
        mismatch = thickness_mismatch(part, revision)
        if mismatch is not None:
            found[revision] = mismatch
    return found


def part_thickness_mismatch(part) -> ThicknessMismatch | None:
    """thickness_mismatch for one part, reading its approved revision, else its latest STEP revision."""
    return thickness_mismatch(part, part.approved_revision or part.revisions.latest_step())
