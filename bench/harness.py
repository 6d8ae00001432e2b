"""What every benchmark section shares: the knobs, interleaved sampling, the statistics, the verdicts.

A section measures Figures. A Figure is at least SAMPLES samples of one thing (MB/s, seconds,
milliseconds), usually beside the same number of samples of its reference, taken in
alternating order (figure first, then reference first, ...) with the same `settle` step
before each, so drift, write-back and whatever else the machine does hit both alike. Its
ratio is the median of the per-pair ratios (figure / reference), so a slow minute spoils one
pair, not the comparison. A Target is held against the ratio, or against the figure when
there is no fair reference, and says whether it is met at the median, by how much, and in
how many samples.

A section runs as its own process (`python -m bench.transfers`, ...) and writes what it
measured, raw samples included, to BENCH_RUN_DIR/<section>.json; bench/run.py runs the
sections and writes one RESULTS.md and one results.json from a single run.
"""

import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def envbool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def envlist(name, default):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


QUICK = envbool("BENCH_QUICK")
# At least five samples make a median and a spread worth reading; a quick run takes three and says so.
SAMPLES = int(os.environ.get("BENCH_SAMPLES", 3 if QUICK else 5))
# A transfer's per-sample ratios spread wider than the other sections' (0.42-0.77 for one S3 upload on an
# idle machine), so five samples leave its median to luck: the transfers take at least seven.
TRANSFER_SAMPLES = int(os.environ.get("BENCH_TRANSFER_SAMPLES") or (SAMPLES if QUICK else max(SAMPLES, 7)))
RUN_DIR = Path(os.environ.get("BENCH_RUN_DIR") or ROOT / "bench" / "out")


@dataclass
class Target:
    """`ratio >= 0.8`, `figure < 150`: what the median must be, of the ratio or of the figure."""

    on: str  # "ratio" or "figure"
    op: str  # ">=", "<=", "<", ">"
    value: float

    def holds(self, number):
        return {">=": number >= self.value, "<=": number <= self.value,
                "<": number < self.value, ">": number > self.value}[self.op]

    def __str__(self):
        return f"{self.on} {self.op} {self.value:g}"


@dataclass
class Figure:
    """One measure: its samples, its reference's samples (paired, same order) and its target."""

    measure: str
    unit: str
    samples: list[float]
    reference: str = ""  # what the reference is, in words
    reference_samples: list[float] = field(default_factory=list)
    target: Target | None = None
    note: str = ""
    decimals: int = 0

    @property
    def ratios(self):
        return [mine / theirs for mine, theirs in zip(self.samples, self.reference_samples) if theirs]

    @property
    def ratio(self):
        return statistics.median(self.ratios) if self.ratios else None

    def verdict(self):
        """(met, words) for the summary: None when there is no target."""
        if self.target is None:
            return None, "no target"
        values = self.ratios if self.target.on == "ratio" else self.samples
        if not values:
            return None, "not measured"
        median = statistics.median(values)
        met = self.target.holds(median)
        held = sum(self.target.holds(value) for value in values)
        word = "met" if met else "**missed**"
        if not self.target.value:  # "none lost": by how much is the median itself
            return met, f"{word}{'' if met else f' at {median:g}'} ({held} of {len(values)} samples meet it)"
        margin = abs(median / self.target.value - 1)
        return met, f"{word} by {margin:.0%} ({held} of {len(values)} samples meet it)"

    def as_json(self):
        raw = asdict(self)
        raw["ratios"] = self.ratios
        raw["ratio"] = self.ratio
        raw["iqr"], raw["ratio_iqr"] = iqr(self.samples), iqr(self.ratios)
        raw["met"], raw["verdict"] = self.verdict()
        return raw

    @classmethod
    def from_json(cls, raw):
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        if known.get("target"):
            known["target"] = Target(**known["target"])
        return cls(**known)


def spread(values, decimals=0):
    """`median (min-max)`, the way every figure is shown."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{decimals}f} (1 sample)"
    return f"{statistics.median(values):.{decimals}f} ({min(values):.{decimals}f}–{max(values):.{decimals}f})"


def iqr(values):
    """The interquartile range, kept in results.json beside each figure's samples (None under 4 samples)."""
    if len(values) < 4:
        return None
    low, _, high = statistics.quantiles(values, n=4)
    return high - low


def percentile(values, share):
    """The nearest-rank percentile: p99 of 300 requests is the fourth slowest, of 100 the second."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered)))) - 1]


def interleaved(figure, reference, settle=None, samples=None, swap=True):
    """Run figure() and reference() `samples` times each, alternating which goes first.

    Each returns its measurement (a number). `settle()` runs before every one of them, so
    both start from the same state (page cache warmed, previous writes flushed).
    Returns (figure samples, reference samples), paired in order.

    With swap=False the figure always goes first (A B A B ...), so every sample of either
    follows one of the other: for a measure whose speed depends on what ran just before it,
    where A B B A gives half the samples one history and half another (bench/NOTES.md, Page
    faults).
    """
    mine, theirs = [], []
    for index in range(samples or SAMPLES):
        order = ((figure, mine), (reference, theirs))
        for action, into in order if index % 2 == 0 or not swap else reversed(order):
            if settle:
                settle()
            into.append(action())
    return mine, theirs


def repeated(action, settle=None, samples=None):
    values = []
    for _ in range(samples or SAMPLES):
        if settle:
            settle()
        values.append(action())
    return values


@dataclass
class Section:
    """What one section measured in one run, written to BENCH_RUN_DIR/<name>.json."""

    name: str
    title: str
    setup: dict = field(default_factory=dict)  # database, broker, storage...: what it ran on
    figures: list[Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # markdown, shown under the section's heading
    notes: str = ""  # how the section measures, for RESULTS.md
    skipped: str = ""  # why it did not run
    versions: dict = field(default_factory=dict)
    ran: dict = field(default_factory=dict)  # commit and date, for figures from another run (make soak's)

    def add(self, figure):
        self.figures.append(figure)
        print(f"  {figure.measure}: {spread(figure.samples, figure.decimals)} {figure.unit}"
              + (f" beside {spread(figure.reference_samples, figure.decimals)} {figure.unit}, "
                 f"ratio {spread(figure.ratios, 2)}" if figure.reference_samples else "")
              + f"; {figure.verdict()[1]}", flush=True)
        return figure

    def skip(self, reason):
        self.skipped = reason
        print(f"{self.title}: skipped: {reason}", flush=True)
        self.save()

    def save(self):
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        raw = asdict(self)
        raw["figures"] = [figure.as_json() for figure in self.figures]
        (RUN_DIR / f"{self.name}.json").write_text(json.dumps(raw, indent=1))

    @classmethod
    def from_json(cls, raw):
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        known["figures"] = [Figure.from_json(figure) for figure in known.get("figures", [])]
        return cls(**known)


def markdown_table(header, rows, numeric=()):
    """A markdown table whose columns line up in a terminal too."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def render(cells):
        return "| " + " | ".join(
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths))
        ) + " |"

    rule = "|" + "|".join(
        "-" * (width + 1) + ":" if index in numeric else "-" * (width + 2) for index, width in enumerate(widths)
    ) + "|"
    return "\n".join([render(header), rule, *map(render, rows)])
