"""Why files/forkserver.py is kept: its children against the standard library's way, side by side.

The converter's and the previewer's children are forked from a warm server that has imported
numpy and cascadio (numpy, matplotlib and Pillow for a preview). The standard library offers a
Celery pool process two other ways to start them:
- multiprocessing's forkserver (or any multiprocessing start method): tried here from a
  billiard pool process, which is what Celery's prefork pool runs tasks in; it is refused
  there, and the section says so (and says loudly if that ever changes);
- a plain subprocess per job, a fresh interpreter (`python -m files.converter IN OUT`,
  `python -m files.preview IN OUT`) with the same limits: the reference here.

The corpus's convertible files under SMALL_FILE_BYTES (where starting the child weighs most)
are each converted and previewed both ways, alternately (the server first, then the fresh
interpreter first, file by file and sample by sample), through the same public functions the
worker calls (files.converter.convert_step_to_glb, files.preview.render_preview). A sample is
the total over those files; the page cache holds every file after the untimed first round.
"""

import csv
import importlib
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import billiard

from bench.harness import QUICK, ROOT, SAMPLES, Figure, Section, Target, markdown_table, spread
from bench.site import flush_writes

CORPUS = Path(os.environ.get("PARTSITE_STEP_CORPUS", ROOT.parent / "shared" / "step"))
SMALL_FILE_BYTES = 1024 * 1024
QUICK_FILES = 4  # a quick run takes the smallest few
# The fork server is our own code (STYLE 14): it stays only while it saves at least a tenth.
WORTH_KEEPING = 0.9


def _start_a_multiprocessing_child(_):
    try:
        child = multiprocessing.get_context("forkserver").Process(target=os.getpid)
        child.start()
        child.join()
        return "started"
    except Exception as refused:  # noqa: BLE001  what refused it is the finding
        return f"{type(refused).__name__}: {refused}"


def multiprocessing_from_a_pool_process():
    """What happens when a billiard pool process (Celery's prefork pool) starts a multiprocessing child."""
    with billiard.Pool(1) as pool:
        return pool.map(_start_a_multiprocessing_child, [0])[0]


def small_convertible_files():
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return None
    with open(manifest, newline="", encoding="utf-8") as tsv:
        entries = [entry for entry in csv.DictReader(tsv, delimiter="\t") if entry["expected"].startswith("converts")]
    files = sorted((CORPUS / "real" / entry["file"] for entry in entries), key=lambda path: path.stat().st_size)
    files = [path for path in files if path.stat().st_size < SMALL_FILE_BYTES]
    return files[:QUICK_FILES] if QUICK else files


def timed(job):
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def fresh_interpreter(module, source, target):
    """A job as the standard library would start it from a pool process: a new Python, with the limits
    and the environment files/forkserver.py gives the server's children."""
    defaults = importlib.import_module(module)
    cpu_seconds = math.ceil(defaults.DEFAULT_TIMEOUT_S * (os.cpu_count() or 1)) + 10
    limits = ["--memory-mb", str(defaults.DEFAULT_MEMORY_MB), "--cpu-seconds", str(cpu_seconds)]
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"}

    def job():
        subprocess.run([sys.executable, "-m", module, str(source), str(target), *limits], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return job


def from_the_server(run, source, target):
    def job():
        outcome = run(str(source), str(target))
        if not outcome.ok:
            raise SystemExit(f"{Path(source).name}: {outcome.error}")
    return job


def main():
    section = Section("children", "Conversion and preview children: the fork server against a fresh interpreter")
    files = small_convertible_files()
    if not files:
        section.skip(f"no STEP corpus at {CORPUS} (set PARTSITE_STEP_CORPUS).")
        return
    from files.converter import convert_step_to_glb
    from files.preview import render_preview

    refused = multiprocessing_from_a_pool_process()
    print(f"multiprocessing's forkserver from a billiard pool process: {refused}", flush=True)
    jobs = {"convert": ("files.converter", convert_step_to_glb), "preview": ("files.preview", render_preview)}
    times = {(job, way): {path.name: [] for path in files} for job in jobs for way in ("server", "fresh")}
    with tempfile.TemporaryDirectory(prefix="partsite-bench-children-") as work:
        work = Path(work)
        glbs = {path.name: work / f"{path.stem}.glb" for path in files}

        def run(job, way, path):
            module, function = jobs[job]
            source = path if job == "convert" else glbs[path.name]
            target = work / f"{way}.{'glb' if job == 'convert' else 'png'}"
            action = from_the_server(function, source, target) if way == "server" else \
                fresh_interpreter(module, source, target)
            return timed(action)

        # Untimed: each file's GLB is made for its previews (every file enters the page cache), the
        # servers start (once per process, as in a worker) and Python's own modules are read once.
        for path in files:
            from_the_server(convert_step_to_glb, path, glbs[path.name])()
        for job in jobs:
            for way in ("server", "fresh"):
                run(job, way, files[0])
        for sample in range(SAMPLES):
            for index, path in enumerate(files):
                ways = ("server", "fresh") if (sample + index) % 2 == 0 else ("fresh", "server")
                for job in jobs:
                    for way in ways:
                        flush_writes()  # neither pays for the other's writes
                        times[job, way][path.name].append(run(job, way, path))
            print(f"  sample {sample + 1} of {SAMPLES} done", flush=True)

    def totals(job, way):
        return [sum(per_file[index] for per_file in times[job, way].values()) for index in range(SAMPLES)]

    for job, name in (("convert", "Conversions"), ("preview", "Previews")):
        section.add(Figure(
            f"{name} of {len(files)} small corpus files, children forked from the fork server", "s",
            totals(job, "server"), f"a fresh interpreter per job (`python -m {jobs[job][0]}`, the same limits)",
            totals(job, "fresh"), Target("ratio", "<=", WORTH_KEEPING), decimals=2,
            note="the fork server (files/forkserver.py) is kept while it saves at least a tenth",
        ))
    section.setup = {"files": f"the corpus's convertible files under {SMALL_FILE_BYTES // 1024} KB"
                     + (f", the {QUICK_FILES} smallest (quick run)" if QUICK else "")}
    section.tables.append(markdown_table(
        ("File", "Size (KB)", "Convert, server (s)", "Convert, fresh (s)", "Preview, server (s)",
         "Preview, fresh (s)"),
        [(path.name, path.stat().st_size // 1024,
          *(spread(times[job, way][path.name], 3) for job in jobs for way in ("server", "fresh")))
         for path in files],
        numeric={1},
    ))
    section.notes = "\n\n".join([
        "Each job runs through the same public function the worker calls, or as `python -m files.converter` / "
        "`python -m files.preview` in a new interpreter with the same limits, alternately, file by file; one sample "
        "is the total over the files (median (min–max) per file above). A fresh interpreter imports numpy and "
        "cascadio (numpy, matplotlib and Pillow for a preview) every time; the fork server's children start with "
        "them imported.",
        f"Why not the standard library's forkserver: started from a billiard pool process (what Celery's prefork "
        f"pool runs tasks in), multiprocessing answered `{refused}`."
        + (" **It started: the reason for keeping files/forkserver.py is gone; measure multiprocessing's "
           "forkserver against it.**" if refused == "started" else ""),
    ])
    section.save()


if __name__ == "__main__":
    main()
