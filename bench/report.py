"""RESULTS.md from one run's results.json: the stamp, the load, the verdicts, each section's tables."""

from bench.harness import Section, markdown_table, spread

# A section during which other processes kept more than this many cores busy on average was not measured
# on a quiet machine.
BUSY_OTHERS_CORES = 0.2
MIN_SAMPLES = 5


def noisy(run):
    busy = [run["idle_check"], *(section["busy"] for section in run["sections"] if section.get("busy"))]
    return [entry for entry in busy if entry["cores_busy_others"] > BUSY_OTHERS_CORES]


def figure_cells(figure):
    met, verdict = figure.verdict()
    reference = f"{spread(figure.reference_samples, figure.decimals)} {figure.unit}" if figure.reference_samples \
        else "-"
    return (
        figure.measure,
        f"{spread(figure.samples, figure.decimals)} {figure.unit}",
        reference,
        spread(figure.ratios, 2) if figure.reference_samples else "-",
        str(figure.target) if figure.target else "-",
        verdict,
    )


def render(run):
    sections = [(Section.from_json(raw), raw) for raw in run["sections"]]
    figures = [figure for section, _ in sections for figure in section.figures]
    warnings = []
    if run["quick"]:
        warnings.append("**Quick run** (BENCH_QUICK=1): fewer samples and smaller sizes. Not for comparison.")
    if busy := noisy(run):
        warnings.append(
            f"**The machine was busy**: other processes kept up to {max(e['cores_busy_others'] for e in busy):.1f} "
            f"cores busy on average during {len(busy)} of the stretches measured (see *Load*). Figures from a busy "
            "machine are not for comparison."
        )
    if not run["quick"] and run["samples"] < MIN_SAMPLES:
        warnings.append(f"**{run['samples']} samples per figure** (BENCH_SAMPLES): fewer than the {MIN_SAMPLES} "
                        "a median and its spread need. Not for comparison.")
    if run.get("sections_not_run"):
        warnings.append(f"**Part of a run** (BENCH_SECTIONS): {', '.join(run['sections_not_run'])} not run.")
    failed = [raw["name"] for _, raw in sections if raw.get("exit_code")]
    if failed:
        warnings.append(f"**Sections that failed**: {', '.join(failed)} (their figures are missing).")
    versions = {name: version for _, raw in sections for name, version in raw.get("versions", {}).items()}
    lines = ["# Benchmark results", ""]
    lines += [f"> {warning}\n>" for warning in warnings]
    if warnings:
        lines[-1] = lines[-1].removesuffix("\n>")
        lines.append("")
    lines += [
        "Written by one `make bench` run; every sample is in results.json beside this file. Each figure is the "
        "median of its samples with their range (min–max); a ratio is the median of the per-sample ratios of "
        "the figure to its reference, measured alternately with it. How to read them and how to compare "
        "machines: README.md, *Benchmarks*.",
        "",
        markdown_table(("Run", ""), [
            ("Commit", run["commit"]),
            ("Date", run["date"]),
            *run["machine"].items(),
            ("Versions, from the sections", ", ".join(f"{name} {version}" for name, version in versions.items())
             or "-"),
            ("Calibration: SHA-256 on one core (hashlib)",
             f"{run['calibration_before']:.0f} MB/s before the run, {run['calibration_after']:.0f} MB/s after"),
            ("Samples", f"{run['samples']} per figure" + "".join(
                f", {section['setup']['samples']} in {section['name']}" for section in run["sections"]
                if section.get("setup", {}).get("samples", run["samples"]) != run["samples"])
             + (" (quick run)" if run["quick"] else "")),
            *([("Duration", f"{run['seconds'] / 60:.1f} minutes for the sections (expected "
                            f"{sum(run['expected_seconds'].values()) / 60:.1f})")] if "seconds" in run else []),
            ("Settings", ", ".join(f"{name}={value}" for name, value in run["knobs"].items()) or "the defaults"),
        ]),
        "",
        "## Load",
        "",
        "Load is the 1-minute load average; *services* is the CPU time of the shared services the sections drive "
        "(PostgreSQL, Redis); *others* is that of every other process but the benchmark's own; both in cores, "
        "averaged over the stretch.",
        "",
        markdown_table(
            ("Stretch", "Seconds", "Load before → after", "Cores busy, all", "Cores busy, services",
             "Cores busy, others"),
            [("idle check before the run", *_busy_cells(run["idle_check"]))] + [
                (raw["name"], *_busy_cells(raw["busy"])) for _, raw in sections if raw.get("busy")
            ],
            numeric={1, 3, 4, 5},
        ),
        "",
        "## Summary",
        "",
    ]
    targeted = [figure for figure in figures if figure.target]
    met = [figure for figure in targeted if figure.verdict()[0]]
    missed = [figure for figure in targeted if figure.verdict()[0] is False]
    lines += [
        f"Targets met: {len(met)} of {len(targeted)}." + (
            " Missed: " + "; ".join(f"{figure.measure} ({figure.verdict()[1].replace('**', '')})" for figure in missed)
            + "." if missed else ""),
        "",
        markdown_table(("Measure", "Figure", "Reference", "Ratio", "Target", "Result"),
                       [figure_cells(figure) for figure in figures], numeric={3}) if figures else "No figures.",
        "",
    ]
    for section, raw in sections:
        lines += [f"## {section.title}", ""]
        if section.ran:
            lines += [f"Not from this run: measured at {section.ran['commit']}, {section.ran['date']}.", ""]
        if raw.get("exit_code"):
            lines += [f"Failed (exit code {raw['exit_code']}); see the run's output.", ""]
            continue
        if section.skipped:
            lines += [f"Skipped: {section.skipped}", ""]
            continue
        for where, setup in _setups(section.setup):
            lines.append(f"- {where}" + ", ".join(f"{key}: {value}" for key, value in setup.items()))
        lines.append("")
        notes = [
            f"*{figure.measure}*: " + "; ".join(filter(None, [figure.reference and f"beside {figure.reference}",
                                                               figure.note])) + "."
            for figure in section.figures if figure.reference or figure.note
        ]
        lines += [*(table + "\n" for table in section.tables), *(note + "\n" for note in notes)]
        if section.notes:
            lines += [section.notes, ""]
    return "\n".join(lines).rstrip() + "\n"


def _busy_cells(busy):
    return (f"{busy['seconds']:.0f}", f"{busy['load_before']:.1f} → {busy['load_after']:.1f}",
            f"{busy['cores_busy']:.2f}",
            f"{busy['cores_busy_services']:.2f}" if "cores_busy_services" in busy else "not measured",
            f"{busy['cores_busy_others']:.2f}")


def _setups(setup):
    """A section's setup: flat ({"database": ...}) or one per variant ({"local": {...}, "s3": {...}})."""
    if setup and all(isinstance(value, dict) for value in setup.values()):
        return [(f"{name}: ", value) for name, value in setup.items()]
    return [("Ran on: ", setup)] if setup else []


def summary(run):
    """The summary table alone, for the terminal."""
    figures = [figure for raw in run["sections"] for figure in Section.from_json(raw).figures]
    return markdown_table(("Measure", "Figure", "Reference", "Ratio", "Target", "Result"),
                          [figure_cells(figure) for figure in figures], numeric={3})

