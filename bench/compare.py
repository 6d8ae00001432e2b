"""Two runs side by side, and whether they agree: `python -m bench.compare A/results.json B/results.json`.

For each figure of either run: its ratio to its reference in each (or, without a reference
or with a target on the figure itself, its median, scaled by the runs' calibration figures so
that a slower machine's seconds and MB/s compare with a faster one's; memory and counts as
measured), B over A, whether the two agree within ±10%, and each run's range (the lowest and
highest per-sample value), so that a disagreement can be read against the figure's own spread:
two medians 15% apart inside ranges 40% wide say the samples are too few for the machine, not
that the code changed. Two back-to-back runs of one commit on an idle machine should
agree on every ratio (issue 17): the exit code is 1 when a ratio does not, or is in one run
only; absolute figures are shown and judged too, but count towards the exit code only with
--all (a p99 on a shared 2-core machine moves more than a ratio measured beside its reference).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import NamedTuple

from bench.harness import Figure, markdown_table
from bench.report import noisy

TOLERANCE = 0.10
# Units where a faster machine gives a bigger number; memory and counts do not scale with the CPU at all.
RATES = {"MB/s"}
UNSCALED = {"MB", "messages", "requests", "%"}


def figures(run):
    return {raw["measure"]: Figure.from_json(raw) for section in run["sections"] for raw in section.get("figures", [])}


def calibration(run):
    return statistics.fmean([run["calibration_before"], run["calibration_after"]])


def agree(value_a, value_b):
    """Within ±10% of each other: B / A between 0.9 and 1.1 (two zeros agree)."""
    if not value_a:
        return not value_b
    return abs(value_b / value_a - 1) <= TOLERANCE


class Row(NamedTuple):
    measure: str
    compared: str  # "ratio", or the unit of the medians compared
    a: str
    b: str
    b_over_a: str
    agreement: str  # "yes", "NO", "only in A", "only in B"
    counted: bool  # a ratio: counts towards the exit code
    range_a: str = "-"  # the lowest and highest sample of what is compared, in A
    range_b: str = "-"


def compared(first, second):
    """A Row for each figure of either run, A's figures first."""
    ours, theirs = figures(first), figures(second)
    # B's absolute figures as if measured on A's machine.
    speed = calibration(first) / calibration(second)
    rows = []
    for measure in [*ours, *(measure for measure in theirs if measure not in ours)]:
        a, b = ours.get(measure), theirs.get(measure)
        if a is None or b is None:
            present = a or b
            by_ratio = _judged_by_ratio(present)
            shown = _number(present.ratio) if by_ratio else _median(present)
            values = present.ratios if by_ratio else present.samples
            rows.append(Row(measure, "ratio" if by_ratio else present.unit, shown if a else "-",
                            shown if b else "-", "-", "only in A" if a else "only in B", by_ratio,
                            _range(values) if a else "-", _range(values) if b else "-"))
            continue
        scale = 1
        if _judged_by_ratio(a) and _judged_by_ratio(b):
            what, values_a, values_b = "ratio", a.ratios, b.ratios
        elif a.unit in UNSCALED:
            what, values_a, values_b = a.unit, a.samples, b.samples
        else:
            scale = speed if a.unit in RATES else 1 / speed
            what = f"{a.unit}, B scaled to A's machine" if abs(speed - 1) > 0.02 else a.unit
            values_a, values_b = a.samples, b.samples
        value_a, value_b = statistics.median(values_a), statistics.median(values_b) * scale
        rows.append(Row(measure, what, _number(value_a), _number(value_b),
                        f"{value_b / value_a:.2f}" if value_a else "-",
                        "yes" if agree(value_a, value_b) else "NO", what == "ratio",
                        _range(values_a), _range([value * scale for value in values_b])))
    return rows


def _judged_by_ratio(figure):
    """A figure with a reference, unless its target is on the figure itself: then the reference is shown
    for context (the embedded broker beside Redis), and the figure is what is compared."""
    return figure.ratio is not None and (figure.target is None or figure.target.on == "ratio")


def _median(figure):
    return _number(statistics.median(figure.samples))


def _range(values):
    """`0.61–0.93`: the lowest and the highest sample; one sample is just itself."""
    if not values:
        return "-"
    low, high = min(values), max(values)
    return _number(low) if len(values) == 1 or _number(low) == _number(high) else f"{_number(low)}–{_number(high)}"


def _number(value):
    """Three significant figures, without an exponent for the milliseconds of a p99."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _apart(row):
    return f"B/A {row.b_over_a}" if row.agreement == "NO" else row.agreement


def _warnings(run):
    found = []
    if run.get("quick"):
        found.append("a quick run (BENCH_QUICK=1)")
    if "idle_check" in run and noisy(run):
        found.append("the machine was busy")
    if run.get("sections_not_run"):
        found.append("not run: " + ", ".join(run["sections_not_run"]))
    return f" ({'; '.join(found)}: not for comparison)" if found else ""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path, help="A: a results.json (or the folder holding it)")
    parser.add_argument("second", type=Path, help="B: a results.json (or the folder holding it)")
    parser.add_argument("--all", action="store_true", help="absolute figures count towards the exit code too")
    options = parser.parse_args(argv)
    runs = []
    for path in (options.first, options.second):
        path = path / "results.json" if path.is_dir() else path
        runs.append(json.loads(path.read_text()))
    first, second = runs
    for name, run in (("A", first), ("B", second)):
        print(f"{name}: {run['commit']}, {run['date']}, calibration {calibration(run):.0f} MB/s{_warnings(run)}")
    rows = compared(first, second)
    print()
    print(markdown_table(
        ("Measure", "Compared", "A", "B", "B/A", f"Within ±{TOLERANCE:.0%}", "A's range", "B's range"),
        [(row.measure, row.compared, row.a, row.b, row.b_over_a, row.agreement, row.range_a, row.range_b)
         for row in rows],
        numeric={2, 3, 4, 6, 7}))
    judged = [row for row in rows if row.counted or options.all]
    apart = [row for row in judged if row.agreement != "yes"]
    what = "figures" if options.all else "ratios"
    print(f"\n{len(judged) - len(apart)} of {len(judged)} {what} agree within ±{TOLERANCE:.0%}"
          + (f"; not: {'; '.join(f'{row.measure} ({_apart(row)})' for row in apart)}." if apart else "."))
    if not options.all and (loose := [row for row in rows if not row.counted and row.agreement != "yes"]):
        print(f"{len(loose)} absolute figures do not agree or are in one run only (not counted; --all counts them).")
    return 1 if apart else 0


if __name__ == "__main__":
    sys.exit(main())
