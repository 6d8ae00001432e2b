"""Two runs side by side: `python -m bench.compare A/results.json B/results.json`.

For each figure in both runs: its ratio to its reference in each (or, without a reference,
its median scaled by the runs' calibration figures, so that a slower machine's seconds and
MB/s compare with a faster one's) and the change from A to B. Changes past ±10% are
flagged: two back-to-back runs of the same commit on an idle machine should show none.
"""

import json
import statistics
import sys
from pathlib import Path

from bench.harness import Figure, markdown_table

TOLERANCE = 0.10
# Units where a faster machine gives a bigger number; in the others (s, ms, MB) it gives a smaller one.
RATES = {"MB/s"}


def figures(run):
    return {raw["measure"]: Figure.from_json(raw) for section in run["sections"] for raw in section.get("figures", [])}


def calibration(run):
    return statistics.fmean([run["calibration_before"], run["calibration_after"]])


def compared(first, second):
    """Rows of (measure, what is compared, A, B, change, flag)."""
    ours, theirs = figures(first), figures(second)
    # B's absolute figures as if measured on A's machine.
    speed = calibration(first) / calibration(second)
    rows = []
    for measure, a in ours.items():
        b = theirs.get(measure)
        if b is None:
            continue
        if a.ratio is not None and b.ratio is not None:
            what, value_a, value_b = "ratio", a.ratio, b.ratio
        elif a.unit == "MB":  # memory does not scale with the CPU's speed
            what, value_a, value_b = "MB", statistics.median(a.samples), statistics.median(b.samples)
        else:
            scale = speed if a.unit in RATES else 1 / speed
            what = f"{a.unit}, B scaled to A's machine" if abs(speed - 1) > 0.02 else a.unit
            value_a, value_b = statistics.median(a.samples), statistics.median(b.samples) * scale
        change = value_b / value_a - 1 if value_a else 0.0
        rows.append((measure, what, _number(value_a), _number(value_b), f"{change:+.0%}",
                     "beyond ±10%" if abs(change) > TOLERANCE else ""))
    return rows


def _number(value):
    """Three significant figures, without an exponent for the milliseconds of a p99."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        raise SystemExit("usage: python -m bench.compare A/results.json B/results.json")
    first, second = (json.loads(Path(path).read_text()) for path in argv)
    print(f"A: {first['commit']}, {first['date']}, calibration {calibration(first):.0f} MB/s")
    print(f"B: {second['commit']}, {second['date']}, calibration {calibration(second):.0f} MB/s\n")
    rows = compared(first, second)
    print(markdown_table(("Measure", "Compared", "A", "B", "Change", ""), rows, numeric={2, 3, 4}))
    beyond = sum(1 for row in rows if row[-1])
    print(f"\n{beyond} of {len(rows)} beyond ±{TOLERANCE:.0%}.")


if __name__ == "__main__":
    main()
