"""What a revision's measured geometry (files.geometry, stored in Revision.geometry) tells a person.

Pure reading of the stored JSON: sizes in mm, volume in mm³, the plate check, and the unit
check. A size no shop part has (largest dimension over 5 m, or under 0.1 mm) is most likely a
file exported at the wrong scale; the check says which scale would make it plausible.
"""

from dataclasses import dataclass

LARGEST_PLAUSIBLE_MM = 5000.0
SMALLEST_PLAUSIBLE_MM = 0.1
# Scales that turn an implausible size into a plausible one, most likely first: (factor, how the
# file would have been written). A motor modelled in µm but labelled mm is 1000x too large.
SCALES_IF_TOO_LARGE = ((1 / 1000, "µm"), (1 / 25.4, "thousandths of an inch (mils)"), (1 / 10, "tenths of a mm"))
SCALES_IF_TOO_SMALL = ((1000.0, "metres"), (25.4, "inches"), (10.0, "cm"))
MM3_PER_M3 = 1e9


@dataclass(frozen=True)
class UnitWarning:
    largest_mm: float
    factor: float
    written_in: str
    plausible_size_mm: tuple

    @property
    def message(self) -> str:
        size = " × ".join(_length(value) for value in self.plausible_size_mm)
        problem = "larger than any shop part" if self.factor < 1 else "smaller than any shop part"
        return (
            f"Largest dimension {_length(self.largest_mm)}: {problem}, likely a unit error — "
            f"as if written in {self.written_in} → {size}"
        )


@dataclass(frozen=True)
class GeometryFacts:
    size_mm: tuple | None
    volume_mm3: float | None
    area_mm2: float | None
    centre_of_mass_mm: tuple | None
    solids: int
    plate: dict | None
    not_plate: str
    data_sha256: str

    @classmethod
    def of(cls, geometry: dict) -> "GeometryFacts":
        size = geometry.get("bbox_mm")
        centre = geometry.get("centre_of_mass_mm")
        return cls(
            size_mm=tuple(size) if size else None,
            volume_mm3=geometry.get("volume_mm3"),
            area_mm2=geometry.get("area_mm2"),
            centre_of_mass_mm=tuple(centre) if centre else None,
            solids=geometry.get("solids") or 0,
            plate=geometry.get("plate"),
            not_plate=geometry.get("not_plate") or "",
            data_sha256=geometry.get("data_sha256") or "",
        )

    @property
    def size_label(self) -> str:
        return " × ".join(f"{value:.1f}" for value in self.size_mm) + " mm" if self.size_mm else ""

    @property
    def plate_thickness_mm(self) -> float | None:
        return self.plate["thickness_mm"] if self.plate else None

    @property
    def holes(self) -> int:
        return len(self.plate["holes"]) if self.plate else 0

    @property
    def unit_warning(self) -> UnitWarning | None:
        """A likely unit error, with the scale that would make the size plausible; None if it is plausible."""
        if not self.size_mm:
            return None
        largest = max(self.size_mm)
        if largest > LARGEST_PLAUSIBLE_MM:
            scales = SCALES_IF_TOO_LARGE
        elif largest < SMALLEST_PLAUSIBLE_MM:
            scales = SCALES_IF_TOO_SMALL
        else:
            return None
        for factor, written_in in scales:
            if SMALLEST_PLAUSIBLE_MM <= largest * factor <= LARGEST_PLAUSIBLE_MM:
                return UnitWarning(largest, factor, written_in, tuple(value * factor for value in self.size_mm))
        factor, written_in = scales[0]
        return UnitWarning(largest, factor, written_in, tuple(value * factor for value in self.size_mm))

    def mass_kg(self, density_kg_m3) -> float | None:
        if self.volume_mm3 is None or density_kg_m3 is None:
            return None
        return self.volume_mm3 / MM3_PER_M3 * float(density_kg_m3)


def _length(mm: float) -> str:
    if mm >= 1000:
        return f"{mm / 1000:.4g} m"
    if mm < 0.1:
        return f"{mm * 1000:.4g} µm"
    return f"{mm:.4g} mm"


# Two measurements of the same geometry agree within this share (and within this much absolute,
# for values near zero): re-exporting a model moves its numbers by rounding, not by design.
SAME_SHARE = 1e-5
SAME_ABSOLUTE = 1e-4


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return abs(a - b) <= max(SAME_ABSOLUTE, SAME_SHARE * max(abs(a), abs(b)))


def _change(a, b):
    if a is None or b is None:
        return None
    if isinstance(a, (list, tuple)):
        return [y - x for x, y in zip(a, b)]
    return b - a


def facts_difference(a: GeometryFacts, b: GeometryFacts, mass_a=None, mass_b=None) -> dict:
    """How b differs from a: each fact's two values and their change, which facts changed, and whether
    the geometry changed at all (not when the DATA sections are the same: only the header differs)."""
    values = {
        "size_mm": (list(a.size_mm) if a.size_mm else None, list(b.size_mm) if b.size_mm else None),
        "volume_mm3": (a.volume_mm3, b.volume_mm3),
        "area_mm2": (a.area_mm2, b.area_mm2),
        "mass_kg": (mass_a, mass_b),
        "solids": (a.solids, b.solids),
        "holes": (a.holes, b.holes),
        "plate_thickness_mm": (a.plate_thickness_mm, b.plate_thickness_mm),
    }
    differences = {name: {"a": x, "b": y, "change": _change(x, y)} for name, (x, y) in values.items()}
    changed = [name for name, (x, y) in values.items() if not _same(x, y)]
    same_data = bool(a.data_sha256) and a.data_sha256 == b.data_sha256
    # Mass follows the part's material as well as the model: a new material is not new geometry.
    geometry_changed = not same_data and any(name != "mass_kg" for name in changed)
    if same_data:
        basis = "the STEP files' DATA sections are identical: only their headers differ"
    elif geometry_changed:
        basis = "the measured facts differ"
    else:
        basis = f"the files differ, but every measured fact agrees within {SAME_SHARE:.0e} of its value"
    return {
        "same_data": same_data,
        "geometry_changed": geometry_changed,
        "basis": basis,
        "changed": changed,
        "differences": differences,
    }
