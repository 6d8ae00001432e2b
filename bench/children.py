"""What the hand-written fork server (files/forkserver.py) saves each conversion and preview.

The converter's and the previewer's children are forked from a warm server that has imported
numpy and cascadio (numpy, matplotlib and Pillow). The standard library offers a Celery pool
process two other ways to start them:
- multiprocessing's forkserver (or any multiprocessing start method): tried here from a
  billiard pool process, which is what Celery's prefork pool runs tasks in;
- a plain subprocess per job, a fresh interpreter: `python -m files.converter IN OUT` and
  `python -m files.preview IN OUT`, with the same limits; timed here against the server.
For the corpus's small files (under SMALL_FILE_BYTES, where starting the child weighs most),
each job is run through both, alternately, BENCH_CHILDREN_RUNS times (3; BENCH_QUICK=1: 2);
the median of each is kept.
"""

import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import billiard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import QUICK, Finding, Section, markdown_table  # noqa: E402
from files.converter import convert_step_to_glb  # noqa: E402
from files.preview import render_preview  # noqa: E402

CORPUS = Path(os.environ.get("PARTSITE_STEP_CORPUS", ROOT.parent / "shared" / "step"))
RUNS = int(os.environ.get("BENCH_CHILDREN_RUNS", 2 if QUICK else 3))
SMALL_FILE_BYTES = 1024 * 1024
LIMITS = ["--memory-mb", "2048", "--cpu-seconds", "300"]


def _start_a_multiprocessing_child(_):
    try:
        child = multiprocessing.get_context("forkserver").Process(target=os.getpid)
        child.start()
        child.join()
        return "started"
    except Exception as refused:  # noqa: BLE001  what refused it is the finding
        return f"{type(refused).__name__}: {refused}"


def multiprocessing_from_a_pool_process():
    with billiard.Pool(1) as pool:
        return pool.map(_start_a_multiprocessing_child, [0])[0]


def timed(job):
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def fresh(module, source, target):
    def job():
        subprocess.run([sys.executable, "-m", module, str(source), str(target), *LIMITS], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return job


def main():
    section = Section("children", "Conversion and preview children: fork server against a fresh interpreter")
    files = sorted(
        path for path in (CORPUS / "real").glob("*.st*p") if path.stat().st_size < SMALL_FILE_BYTES
    ) if (CORPUS / "real").is_dir() else []
    if not files:
        section.skipped = f"no STEP corpus at {CORPUS} (set PARTSITE_STEP_CORPUS)"
        section.save()
        print(section.skipped)
        return
    refused = multiprocessing_from_a_pool_process()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        convert_step_to_glb(str(files[0]), str(work / "warm.glb"))  # the servers start once per process
        render_preview(str(work / "warm.glb"), str(work / "warm.png"))
        for step in files:
            glb = work / f"{step.stem}.glb"
            if not convert_step_to_glb(str(step), str(glb)).ok:
                continue
            times = {"convert": ([], []), "preview": ([], [])}
            for _ in range(RUNS):
                times["convert"][0].append(timed(lambda: convert_step_to_glb(str(step), str(work / "s.glb"))))
                times["convert"][1].append(timed(fresh("files.converter", step, work / "f.glb")))
                times["preview"][0].append(timed(lambda: render_preview(str(glb), str(work / "s.png"))))
                times["preview"][1].append(timed(fresh("files.preview", glb, work / "f.png")))
            rows.append((step.name, step.stat().st_size // 1024,
                         *(statistics.median(runs) for job in ("convert", "preview") for runs in times[job])))
            print(f"{step.name}: " + ", ".join(f"{seconds:.3f} s" for seconds in rows[-1][2:]), flush=True)
    totals = [sum(row[column] for row in rows) for column in range(2, 6)]
    for name, (server, fresh_total) in (("Conversions", totals[0:2]), ("Previews", totals[2:4])):
        section.findings.append(Finding(
            f"{name} of {len(rows)} small corpus files, children from the fork server",
            f"{server:.2f} s", f"{fresh_total:.2f} s (a fresh interpreter per job)", round(server / fresh_total, 2),
        ))
    section.details = "\n".join([
        f"Median of {RUNS} runs per job, the two ways alternately, with the same limits. multiprocessing from a "
        f"billiard pool process (what Celery's prefork pool runs tasks in): `{refused}`.",
        "",
        markdown_table(
            ("File", "Size (KB)", "Convert, server (s)", "Convert, fresh (s)", "Preview, server (s)",
             "Preview, fresh (s)"),
            [(name, size, *(f"{seconds:.3f}" for seconds in medians)) for name, size, *medians in rows],
            numeric={1, 2, 3, 4, 5},
        ),
    ])
    section.save()


if __name__ == "__main__":
    main()
