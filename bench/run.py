"""`make bench`: every section in one run, and one RESULTS.md and results.json from it.

    make bench                                    # everything: it prints how long it expects to take
    BENCH_QUICK=1 make bench                      # smaller and fewer samples: a check, not for comparison
    BENCH_SECTIONS=transfers,conversion make bench
    BENCH_OUT=/tmp/old make bench                 # write RESULTS.md and results.json elsewhere

Stamps the run with the commit, the date, the machine and its calibration figure; checks
how busy the machine is for a few seconds first; runs each section as its own process
(`python -m bench.<section>`), recording the load and the CPU other processes took while
it ran; then writes RESULTS.md and results.json (every raw sample) to BENCH_OUT (bench/).
A section that fails is recorded as failed and the others still run; the exit code is
then 1. Nothing fails on timing: targets are reported, not enforced.

Before the first section it prints how long the run should take: each section's time in the
last run written to BENCH_OUT (of the same kind, full or quick), scaled by the samples taken
and the calibration figures, or TYPICAL_SECONDS when there is none. The soak figures come
from `make soak`, not from this run: a harness Section saved as BENCH_SOAK_RESULTS
(bench/soak.json) with its own stamp (`ran`), shown under its own heading with that stamp.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine, report
from bench.harness import QUICK, ROOT, SAMPLES, TRANSFER_SAMPLES, envlist

SECTIONS = ("transfers", "hashing", "listing", "conversion", "children", "broker", "viewer")
IDLE_CHECK_SECONDS = 5
# Seconds each section takes on the 2-core machine these benchmarks were written on, busy with other
# work (quick: as measured; full: the quick figures scaled by samples and sizes), with 5 samples (full)
# and 3 (quick): the estimate when BENCH_OUT holds no earlier run to go by.
TYPICAL_SECONDS = {
    "transfers": (800, 120), "hashing": (20, 10), "listing": (400, 140), "conversion": (1100, 240),
    "children": (280, 60), "broker": (150, 90), "viewer": (130, 100),
}
SOAK = Path(os.environ.get("BENCH_SOAK_RESULTS") or ROOT / "bench" / "soak.json")


def knobs():
    """The BENCH_* settings of this run, as given (passwords hidden)."""
    from bench.site import without_password

    return {name: without_password(value) for name, value in sorted(os.environ.items())
            if name.startswith("BENCH_") and name not in ("BENCH_RUN_DIR", "BENCH_OUT")}


def estimate(chosen, previous, calibration):
    """[(section, seconds, where the figure comes from)] for the sections about to run.

    `previous` is an earlier run's results.json (or None): a section it ran, in a run of the same
    kind, is expected to take as long again, times the samples now over the samples then, times
    that run's calibration figure over this machine's now.
    """
    earlier = {}
    if previous and previous.get("quick") == QUICK:
        then = (previous["calibration_before"] + previous.get("calibration_after", previous["calibration_before"])) / 2
        earlier = {raw["name"]: raw["busy"]["seconds"] * then / calibration
                   * samples_of(raw["name"]) / (raw.get("setup", {}).get("samples") or previous["samples"])
                   for raw in previous["sections"]
                   if raw.get("busy") and not raw.get("exit_code") and not raw.get("skipped")}
    return [(name, earlier[name], f"the run of {previous['date']}") if name in earlier else
            (name, TYPICAL_SECONDS[name][QUICK] * samples_of(name) / (3 if QUICK else 5), "typical")
            for name in chosen]


def samples_of(section):
    """The samples a section takes of each figure: the transfers' own count, the others BENCH_SAMPLES."""
    return TRANSFER_SAMPLES if section == "transfers" else SAMPLES


def soak():
    """The soak figures (`make soak`) as a section of this report, or the slot saying where they come from."""
    if SOAK.is_file():
        return json.loads(SOAK.read_text())
    where = SOAK.relative_to(ROOT) if SOAK.is_relative_to(ROOT) else SOAK
    return {"name": "soak", "title": "Soak", "skipped": f"no soak figures at {where}: `make soak` writes them there "
            "(BENCH_SOAK_RESULTS), and the next `make bench` shows them here with their own stamp."}


def main():
    chosen = envlist("BENCH_SECTIONS", ",".join(SECTIONS))
    if unknown := [name for name in chosen if name not in SECTIONS]:
        raise SystemExit(f"BENCH_SECTIONS may name {', '.join(SECTIONS)}; not {', '.join(unknown)}")
    out = Path(os.environ.get("BENCH_OUT") or ROOT / "bench")
    out.mkdir(parents=True, exist_ok=True)
    run = {
        **machine.stamp(),
        "machine": machine.describe(),
        "quick": QUICK,
        "samples": SAMPLES,
        "knobs": knobs(),
    }
    print(f"Benchmark of {run['commit']} on {run['machine']['CPU']}; sections: {', '.join(chosen)}", flush=True)
    print("Settings: " + (", ".join(f"{name}={value}" for name, value in run["knobs"].items()) or "the defaults")
          + " (each section prints what it runs on)", flush=True)
    machine.adopt_orphans()
    stop_on_sigterm()
    with machine.FreedMemoryKept() as kept:
        run["machine"]["Free page reporting"] = kept.words
        print(f"Free page reporting: {kept.words}", flush=True)
        measure(run, chosen, out)
    write(run, out)


def stop_on_sigterm():
    """A run stopped with SIGTERM (kill, a timeout) unwinds as an exit, so the kernel's setting is restored."""
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))


def measure(run, chosen, out):
    """Check the machine is idle, calibrate, run each chosen section, calibrate again."""
    busy = machine.Busy()
    time.sleep(IDLE_CHECK_SECONDS)
    run["idle_check"] = busy.end()
    run["calibration_before"] = machine.calibrate()
    print(f"Before the run: other processes kept {run['idle_check']['cores_busy_others']:.2f} cores busy; "
          f"SHA-256 on one core: {run['calibration_before']:.0f} MB/s", flush=True)
    previous = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else None
    expected = estimate(chosen, previous, run["calibration_before"])
    run["expected_seconds"] = {name: seconds for name, seconds, _ in expected}
    print(f"Expect about {sum(seconds for _, seconds, _ in expected) / 60:.0f} minutes: " + ", ".join(
        f"{name} {seconds / 60:.1f} min ({source})" for name, seconds, source in expected), flush=True)
    run["sections_not_run"] = [name for name in SECTIONS if name not in chosen]
    started = time.monotonic()
    run["sections"] = []
    with tempfile.TemporaryDirectory(prefix="partsite-bench-run-") as run_dir:
        for name in chosen:
            print(f"\n== {name} ==", flush=True)
            busy = machine.Busy()
            finished = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT,
                                      env={**os.environ, "BENCH_RUN_DIR": run_dir})
            machine.reap_orphans()
            measured = Path(run_dir) / f"{name}.json"
            raw = json.loads(measured.read_text()) if measured.exists() else {"name": name, "title": name}
            raw["busy"], raw["exit_code"] = busy.end(), finished.returncode
            run["sections"].append(raw)
            left = sum(seconds for later, seconds in run["expected_seconds"].items()
                       if later not in {done["name"] for done in run["sections"]})
            print(f"-- {name} took {raw['busy']['seconds'] / 60:.1f} min (expected "
                  f"{run['expected_seconds'][name] / 60:.1f})" + (f"; about {left / 60:.0f} min to go" if left else ""),
                  flush=True)
    run["seconds"] = time.monotonic() - started
    run["calibration_after"] = machine.calibrate()


def write(run, out):
    """RESULTS.md and results.json, with the soak figures; the exit code is 1 if a section failed."""
    run["sections"].append(soak())
    (out / "results.json").write_text(json.dumps(run, indent=1))
    (out / "RESULTS.md").write_text(report.render(run))
    print("\n" + report.summary(run))
    print(f"\nThe sections took {run['seconds'] / 60:.1f} minutes; wrote {out / 'RESULTS.md'} and "
          f"{out / 'results.json'}.")
    if report.noisy(run):
        print("The machine was busy during this run: its figures are not for comparison (see RESULTS.md, Load).")
    if any(raw.get("exit_code") for raw in run["sections"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
