"""Benchmark figures beside their references and targets, and bench/RESULTS.md built from them.

Each bench script records its findings under a section name (bench/out/<section>.json);
`python bench/results.py` prints every finding as one table and writes bench/RESULTS.md
with the machine's description, each section's detail tables and the notes on missed targets.
"""

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTIONS = ("transfers", "sha256", "listing", "conversion")
QUICK = os.environ.get("BENCH_QUICK", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Finding:
    """One figure, measured in the same run as its reference, with the target it is held to."""

    measure: str
    figure: str
    reference: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or not measured
    why: str = ""  # for a missed target: the reason, and what would close it


@dataclass
class Section:
    name: str
    title: str
    findings: list[Finding] = field(default_factory=list)
    details: str = ""  # markdown: the full tables
    skipped: str = ""  # why the section did not run
    versions: dict = field(default_factory=dict)  # of what it ran on, e.g. {"PostgreSQL": "15.2"}
    load_average: float = 0.0  # the machine's, over the last minute, when the section ended

    def save(self):
        self.load_average = os.getloadavg()[0]
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{self.name}.json").write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, name):
        path = OUT / f"{name}.json"
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        raw["findings"] = [Finding(**finding) for finding in raw["findings"]]
        return cls(**raw)


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


def summary_table(findings):
    verdicts = {True: "met", False: "**missed**", None: "-"}
    return markdown_table(
        ("Measure", "Figure", "Reference", "Ratio", "Target", "Result"),
        [
            (f.measure, f.figure, f.reference or "-", "-" if f.ratio is None else f"{f.ratio:.2f}", f.target or "-",
             verdicts[f.met])
            for f in findings
        ],
        numeric={3},
    )


def _run(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(sections):
    """CPU, cores, memory, disk and software versions, as RESULTS.md describes the machine."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "unknown",
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory_kb = next(
        (int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
        0,
    ) if Path("/proc/meminfo").exists() else 0
    disk = shutil.disk_usage(ROOT)
    rotational = ""
    device = _run("findmnt", "-n", "-o", "SOURCE", "--target", str(ROOT)).rsplit("/", 1)[-1]
    if device and Path(f"/sys/block/{device}/queue/rotational").exists():
        rotational = {"0": "SSD", "1": "reported rotational (virtual disk)"}.get(
            Path(f"/sys/block/{device}/queue/rotational").read_text().strip(), "")
    import django

    versions = {"Python": platform.python_version(), "Django": django.get_version()}
    for section in sections:
        versions.update(section.versions)
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("Memory", f"{memory_kb / 2**20:.1f} GiB"),
        ("Disk", f"{device or 'unknown'}, {disk.total / 2**30:.0f} GiB, {rotational or 'type unknown'}"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Software", ", ".join(f"{name} {version}" for name, version in versions.items())),
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("Load average (1 min) as each section ended",
         ", ".join(f"{section.name} {section.load_average:.1f}" for section in sections)),
    ]


def main():
    sections = [section for name in SECTIONS if (section := Section.load(name))]
    findings = [finding for section in sections for finding in section.findings]
    summary = summary_table(findings)
    print("\n" + summary + "\n")
    for section in sections:
        if section.skipped:
            print(f"{section.title}: skipped: {section.skipped}")
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/results.py from the figures in bench/out/). Each figure was measured "
        "in the same run as its reference, on this machine:",
        "",
        markdown_table(("Machine", ""), machine(sections)),
        "",
        "## Summary",
        "",
        summary,
        "",
    ]
    missed = [finding for finding in findings if finding.met is False]
    if missed:
        lines += ["## Targets missed, why, and what would close them", ""]
        lines += [f"- **{finding.measure}**: {finding.why or 'no explanation recorded.'}" for finding in missed]
        lines.append("")
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [f"Skipped: {section.skipped}", ""] if section.skipped else [section.details.strip(), ""]
    RESULTS.write_text("\n".join(lines))
    print(f"Wrote {RESULTS.relative_to(ROOT)}.")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
