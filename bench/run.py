"""`make bench`: every section in one run, and one RESULTS.md and results.json from it.

    make bench                                    # everything, about 15 minutes
    BENCH_QUICK=1 make bench                      # smaller and fewer samples: a check, not for comparison
    BENCH_SECTIONS=transfers,conversion make bench
    BENCH_OUT=/tmp/old make bench                 # write RESULTS.md and results.json elsewhere

Stamps the run with the commit, the date, the machine and its calibration figure; checks
how busy the machine is for a few seconds first; runs each section as its own process
(`python -m bench.<section>`), recording the load and the CPU other processes took while
it ran; then writes RESULTS.md and results.json (every raw sample) to BENCH_OUT (bench/).
A section that fails is recorded as failed and the others still run; the exit code is
then 1. Nothing fails on timing: targets are reported, not enforced.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine, report
from bench.harness import QUICK, ROOT, SAMPLES, envlist

SECTIONS = ("transfers", "hashing", "listing", "conversion", "viewer")
IDLE_CHECK_SECONDS = 5


def knobs():
    """The BENCH_* settings of this run, as given (passwords hidden)."""
    from bench.site import without_password

    return {name: without_password(value) for name, value in sorted(os.environ.items())
            if name.startswith("BENCH_") and name not in ("BENCH_RUN_DIR", "BENCH_OUT")}


def main():
    chosen = envlist("BENCH_SECTIONS", ",".join(SECTIONS))
    if unknown := [name for name in chosen if name not in SECTIONS]:
        raise SystemExit(f"BENCH_SECTIONS may name {', '.join(SECTIONS)}; not {', '.join(unknown)}")
    out = Path(os.environ.get("BENCH_OUT") or ROOT / "bench")
    out.mkdir(parents=True, exist_ok=True)
    run = {
        "commit": machine.commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine.describe(),
        "quick": QUICK,
        "samples": SAMPLES,
        "knobs": knobs(),
    }
    print(f"Benchmark of {run['commit']} on {run['machine']['CPU']}; sections: {', '.join(chosen)}", flush=True)
    machine.adopt_orphans()
    busy = machine.Busy()
    time.sleep(IDLE_CHECK_SECONDS)
    run["idle_check"] = busy.end()
    run["calibration_before"] = machine.calibrate()
    print(f"Before the run: other processes kept {run['idle_check']['cores_busy_others']:.2f} cores busy; "
          f"SHA-256 on one core: {run['calibration_before']:.0f} MB/s", flush=True)
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
    run["calibration_after"] = machine.calibrate()
    (out / "results.json").write_text(json.dumps(run, indent=1))
    (out / "RESULTS.md").write_text(report.render(run))
    print("\n" + report.summary(run))
    print(f"\nWrote {out / 'RESULTS.md'} and {out / 'results.json'}.")
    if report.noisy(run):
        print("The machine was busy during this run: its figures are not for comparison (see RESULTS.md, Load).")
    if any(raw["exit_code"] for raw in run["sections"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
