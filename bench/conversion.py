"""What the conversion pipeline costs on top of cascadio, and how soon an upload has its 3D model.

For every file of the shared corpus (../shared/step/real, or PARTSITE_STEP_CORPUS):
- bare: cascadio called in this process on the bytes (files.converter.step_to_glb);
- pipeline: the file uploaded to Partsite (gunicorn) and converted by a real Celery worker
  (`celery --app partsite worker`, the embedded filesystem broker): the queue, the copy out
  of storage, the child process with its limits, the GLB stored and recorded. Its time is
  the revision's conversion_finished_at - conversion_queued_at, one file at a time so the
  worker is idle for each (the preview the worker draws after each conversion is waited
  for too, outside the timing).
Best of BENCH_CONVERSION_RUNS (2; BENCH_QUICK=1: 1) runs of each. Then the time from the
start of an upload to a ready GLB, for the corpus's convertible file nearest 100 KB; then
the PNG preview of each converted model drawn here as the worker draws it
(files.preview.render_preview): its seconds and peak RSS.
"""

import csv
import datetime
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import QUICK, Finding, Section, markdown_table  # noqa: E402
from bench.run import BIN, Site, upload_simple  # noqa: E402
from files.converter import convert_step_to_glb, step_to_glb  # noqa: E402
from files.preview import render_preview  # noqa: E402

CORPUS = Path(os.environ.get("PARTSITE_STEP_CORPUS", ROOT.parent / "shared" / "step"))
RUNS = int(os.environ.get("BENCH_CONVERSION_RUNS", 1 if QUICK else 2))
READY_RUNS = 3 if QUICK else 5
OVERHEAD_TARGET = 0.10
READY_TARGET_SECONDS = 2.0
SMALL_FILE_BYTES = 100 * 1024
WAIT_SECONDS = 300


class Worker:
    """A Celery worker as production runs it (without beat), on the site's database, storage and broker."""

    def __init__(self, site):
        self.site = site

    def __enter__(self):
        self.log = open(self.site.data_dir / "worker.log", "wb")
        self.process = subprocess.Popen(
            [str(BIN / "celery"), "--app", "partsite", "worker", "--concurrency", "1", "--loglevel", "INFO"],
            cwd=ROOT, env=self.site.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while b"ready." not in (self.site.data_dir / "worker.log").read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the Celery worker did not start:\n"
                                 + (self.site.data_dir / "worker.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def wait_until_converted(site, revision_id, poll=0.01):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        revision = site.http.json("GET", f"/api/revisions/{revision_id}/", expect=(200,))
        if revision["conversion_status"] in ("ready", "failed"):
            return revision
        time.sleep(poll)
    raise SystemExit(f"revision {revision_id} was not converted in {WAIT_SECONDS} s")


def wait_until_previewed(site, revision_id, poll=0.02):
    """Wait for the preview the worker draws after a conversion, so the next conversion finds it idle."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        revision = site.http.json("GET", f"/api/revisions/{revision_id}/", expect=(200,))
        if revision["conversion_status"] != "ready" or revision["preview_url"] or revision["preview_error"]:
            return revision
        time.sleep(poll)
    raise SystemExit(f"revision {revision_id} got no preview in {WAIT_SECONDS} s")


def _moment(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def through_the_pipeline(site, path):
    """Upload, wait for the worker; returns (queued-to-finished seconds, the revision)."""
    revision = upload_simple(site, path, site.new_part())
    revision = wait_until_converted(site, revision["id"])
    seconds = (_moment(revision["conversion_finished_at"]) - _moment(revision["conversion_queued_at"])).total_seconds()
    wait_until_previewed(site, revision["id"])
    return seconds, revision


def bare(path):
    step = path.read_bytes()
    started = time.perf_counter()
    glb = step_to_glb(step)
    return time.perf_counter() - started, len(glb or b"")


def upload_to_ready(site, path):
    started = time.perf_counter()
    revision = upload_simple(site, path, site.new_part())
    revision = wait_until_converted(site, revision["id"])
    seconds = time.perf_counter() - started
    if revision["conversion_status"] != "ready":
        raise SystemExit(f"{path.name} did not convert: {revision['conversion_error']}")
    wait_until_previewed(site, revision["id"])
    return seconds


def previews(paths):
    """Convert each file here and draw its preview as the worker does: (file, triangles, PreviewResult) rows."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="partsite-bench-preview-") as work:
        glb_path, png_path = Path(work) / "model.glb", Path(work) / "preview.png"
        for path in paths:
            converted = convert_step_to_glb(str(path), str(glb_path))
            if converted.ok:
                rows.append((path.name, converted.triangles, render_preview(str(glb_path), str(png_path))))
                drawn = rows[-1][2]
                print(f"  preview of {path.name:<36} {drawn.seconds:6.3f} s  peak {drawn.peak_rss_mb or 0:.0f} MB  "
                      f"{'drawn' if drawn.ok else drawn.error}", flush=True)
    return rows


def main():
    section = Section("conversion", "Conversion")
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        section.skipped = f"no STEP corpus at {CORPUS} (set PARTSITE_STEP_CORPUS)."
        print(f"Conversion benchmark skipped: {section.skipped}")
        section.save()
        return
    with open(manifest, newline="", encoding="utf-8") as tsv:
        entries = list(csv.DictReader(tsv, delimiter="\t"))
    files = [CORPUS / "real" / entry["file"] for entry in entries]
    convertible = [CORPUS / "real" / entry["file"] for entry in entries if entry["expected"].startswith("converts")]
    small = min(convertible, key=lambda path: abs(path.stat().st_size - SMALL_FILE_BYTES))

    bare(small)  # import cascadio and numpy once, before timing
    rows = {path.name: {"bare": float("inf"), "pipeline": float("inf")} for path in files}
    with tempfile.TemporaryDirectory(prefix="partsite-bench-convert-") as scratch:
        site = Site(Path(scratch), {"CONVERSION_TIMEOUT_SECONDS": "120"})
        with site, Worker(site):
            through_the_pipeline(site, small)  # the worker's first task loads its code
            print(f"Conversion of {len(files)} corpus files, best of {RUNS}: bare cascadio in this process, "
                  "then through Partsite and a Celery worker", flush=True)
            for run in range(RUNS):
                for path in files:
                    row = rows[path.name]
                    seconds, size = bare(path)
                    row["bare"] = min(row["bare"], seconds)
                    seconds, revision = through_the_pipeline(site, path)
                    row["pipeline"] = min(row["pipeline"], seconds)
                    row["child"] = revision["conversion_seconds"]
                    row["outcome"] = "ready" if revision["conversion_status"] == "ready" else (
                        "failed: " + revision["conversion_error"][:30])
                    row["size_kb"] = path.stat().st_size // 1024
                    print(f"  run {run + 1}  {path.name:<36} bare {row['bare']:6.3f} s   pipeline {seconds:6.3f} s "
                          f"(child {revision['conversion_seconds']:.3f} s)  {row['outcome']}", flush=True)
            ready = [upload_to_ready(site, small) for _ in range(READY_RUNS)]
            print(f"Upload to ready GLB, {small.name} ({small.stat().st_size // 1024} KB): "
                  f"{', '.join(f'{seconds:.2f}' for seconds in ready)} s", flush=True)
    print("Previews of the converted corpus files, drawn here as the worker draws them", flush=True)
    drawn = previews(files)

    total_bare = sum(row["bare"] for row in rows.values())
    total_pipeline = sum(row["pipeline"] for row in rows.values())
    overhead = total_pipeline / total_bare - 1
    per_file = statistics.median(row["pipeline"] - row["bare"] for row in rows.values())
    per_file_share = statistics.median(row["pipeline"] / row["bare"] - 1 for row in rows.values())
    median_ready = statistics.median(ready)
    section.findings = [
        Finding(
            f"Conversion pipeline overhead over bare cascadio, {len(files)} corpus files",
            f"{total_pipeline:.1f} s in all (+{overhead:.0%}; median +{per_file:.2f} s a file)",
            f"{total_bare:.1f} s (bare cascadio)", total_pipeline / total_bare, f"overhead < {OVERHEAD_TARGET:.0%}",
            overhead < OVERHEAD_TARGET,
        ),
        Finding(
            f"Conversion pipeline overhead per file, median of {len(files)}",
            f"+{per_file_share:.0%} (+{per_file:.2f} s)", "bare cascadio, the same file", per_file_share + 1,
            f"overhead < {OVERHEAD_TARGET:.0%}", per_file_share < OVERHEAD_TARGET,
        ),
        Finding(
            f"Upload to ready GLB, {small.stat().st_size // 1024} KB file, idle worker",
            f"median {median_ready:.2f} s (max {max(ready):.2f} s of {READY_RUNS})",
            target=f"< {READY_TARGET_SECONDS:g} s", met=median_ready < READY_TARGET_SECONDS,
        ),
    ]
    table = markdown_table(
        ("File", "Size (KB)", "Outcome", "Bare cascadio (s)", "Pipeline (s)", "Child process (s)", "Overhead (s)",
         "Overhead"),
        [(name, row["size_kb"], row["outcome"], f"{row['bare']:.3f}", f"{row['pipeline']:.3f}", f"{row['child']:.3f}",
          f"{row['pipeline'] - row['bare']:+.3f}", f"{row['pipeline'] / row['bare'] - 1:+.0%}")
         for name, row in rows.items()],
        numeric={1, 3, 4, 5, 6, 7},
    )
    section.details = "\n".join([
        f"Best of {RUNS} runs per file. *Bare*: `cascadio.load` on the bytes in the benchmark's process "
        "(with the size-dependent tolerance, as the converter uses). *Pipeline*: the revision's "
        "`conversion_finished_at - conversion_queued_at` after a simple upload, with one Celery worker "
        "(prefork, concurrency 1) on the embedded filesystem broker, local storage and SQLite; *child process*: "
        "the converter child's own wall time within it.",
        "",
        table,
        "",
        f"In all: bare {total_bare:.2f} s, pipeline {total_pipeline:.2f} s ({overhead:+.0%}).",
        "",
        f"Upload to ready GLB ({small.name}, {small.stat().st_size // 1024} KB, from the start of the POST to the "
        f"API showing `ready`, polled every 10 ms): {', '.join(f'{seconds:.2f}' for seconds in ready)} s.",
        "",
        "Previews (`files.preview.render_preview` on each converted model, as the worker draws them after the "
        "conversion: the child's wall time and peak RSS). The model is `ready` before its preview is drawn.",
        "",
        markdown_table(
            ("Preview of", "Triangles", "Outcome", "Seconds", "Peak RSS (MB)"),
            [(name, triangles, "drawn" if result.ok else f"failed: {result.error[:40]}", f"{result.seconds:.3f}",
              f"{result.peak_rss_mb or 0:.0f}") for name, triangles, result in drawn],
            numeric={1, 3, 4},
        ),
    ])
    section.save()


if __name__ == "__main__":
    main()
