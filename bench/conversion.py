"""What the conversion pipeline costs on top of cascadio, on each broker, and how soon an upload is viewable.

For every file of the shared corpus (../shared/step/real, or PARTSITE_STEP_CORPUS), and for
each broker of BENCH_BROKER_URL (Partsite's embedded broker and Redis):

- pipeline: the file uploaded to Partsite (gunicorn) and converted by a real Celery worker
  (the Procfile's worker, one process): the queue, the copy out of storage, the child
  process with its limits, the GLB stored and recorded. Its time comes from the worker's
  own timestamps on the revision: queued (conversion_queued_at), claimed
  (conversion_started_at) and finished (conversion_finished_at). Nothing polls the API
  meanwhile: the benchmark learns that the task ended from the worker's log, read as it is
  written, and then reads the timestamps once. The preview the worker draws next is waited
  for the same way, so that the next conversion finds the worker idle.
- reference: the same work bare (Bare below): cascadio (bench/bare.py) in a child forked
  from a warm process, as Partsite's child is (multiprocessing's forkserver with numpy and
  cascadio preloaded), then what the worker does after it since issue 15: gltfpack's compact
  and coarse copies of a GLB over 1 MB, and the B-rep measurement (facts, plate check, DXF)
  in a child of its own warm fork server; timed from the first fork to the last exit.

The two alternate file by file (pipeline first, then the reference first, ...), each after
every dirty page is written back, and both read the file from the page cache. One sample
is the whole corpus; the target is on the corpus total. Upload to ready GLB is the time
from the start of the upload's request to the worker's `conversion_finished_at`, for the
corpus's convertible file nearest 100 KB. BENCH_QUICK=1 leaves out the files of 512 KB and more,
whose conversions take most of the time.
"""

import contextlib
import csv
import datetime
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import QUICK, ROOT, SAMPLES, Figure, Section, Target, envlist, markdown_table, spread
from bench.servers import Worker, storage_env
from bench.site import EMBEDDED, Site, database_setting, flush_writes

CORPUS = Path(os.environ.get("PARTSITE_STEP_CORPUS", ROOT.parent / "shared" / "step"))
BROKERS = envlist("BENCH_BROKER_URL", f"{EMBEDDED},redis://127.0.0.1:6379/15")
STORAGE = envlist("BENCH_STORAGE", "local")[0]
OVERHEAD_TARGET = 1.10
READY_TARGET_SECONDS = 2.0
SMALL_FILE_BYTES = 100 * 1024
QUICK_MAX_BYTES = 512 * 1024
CONVERT_TASK, PREVIEW_TASK = "files.tasks.convert_revision", "files.tasks.render_preview"


def corpus():
    """(every corpus file, the convertible one nearest 100 KB), or None without a corpus."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return None
    with open(manifest, newline="", encoding="utf-8") as tsv:
        entries = list(csv.DictReader(tsv, delimiter="\t"))
    files = [CORPUS / "real" / entry["file"] for entry in entries]
    if QUICK:  # a check that it runs: the files that convert in seconds, not the corpus total
        files = [path for path in files if path.stat().st_size < QUICK_MAX_BYTES]
    convertible = [CORPUS / "real" / entry["file"] for entry in entries if entry["expected"].startswith("converts")]
    return files, min(convertible, key=lambda path: abs(path.stat().st_size - SMALL_FILE_BYTES))


# As the worker's settings have them (partsite/settings.py), unless the environment says otherwise.
COMPACT_MIN_BYTES = int(os.environ.get("GLB_COMPACT_MIN_BYTES", 1024 * 1024))
COMPACT_TIMEOUT_S = float(os.environ.get("GLB_COMPACT_TIMEOUT_SECONDS", 120))


def _moment(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Bare:
    """The conversion's work without Partsite around it: bare cascadio in a child of a warm fork server
    (bench/bare.py), then, as the worker does after it (files.conversion.revision_convert), gltfpack's
    compact and coarse copies of a GLB over GLB_COMPACT_MIN_BYTES (files.compact: a node process each)
    and the B-rep measurement in a child of the geometry's warm fork server (files.geometry), with no
    queue, storage or database."""

    def __init__(self, scratch):
        # As Partsite's fork server runs (files/forkserver.py): numpy without a thread pool of its own to
        # copy into children, and glibc's malloc arenas capped as there.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        os.environ["MALLOC_ARENA_MAX"] = "2"
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["bench.bare"])
        self.glb_path = str(Path(scratch) / "bare.glb")

    def __call__(self, path):
        from bench.bare import convert
        from files.compact import compact_glb
        from files.geometry import measure_step

        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.glb_path)
        child = self.context.Process(target=convert, args=(str(path), self.glb_path))
        started = time.perf_counter()
        child.start()
        child.join()
        if os.path.exists(self.glb_path) and os.path.getsize(self.glb_path) > COMPACT_MIN_BYTES:
            compact_glb(self.glb_path, self.glb_path + ".meshopt.glb", timeout_s=COMPACT_TIMEOUT_S)
            compact_glb(self.glb_path, self.glb_path + ".coarse.glb", timeout_s=COMPACT_TIMEOUT_S, coarse=True)
        if os.path.exists(self.glb_path):  # as the worker, which measures what converted
            measure_step(str(path), self.glb_path + ".facts.json")
        return time.perf_counter() - started


def through_the_pipeline(site, worker, path):
    """Upload, wait for the worker's log to say the conversion (and its preview) ended; the row's times."""
    part_id = site.new_part()
    sent_at = time.time()
    revision = site.upload_simple(path, part_id)
    worker.ended(CONVERT_TASK)
    revision = site.http.json("GET", f"/api/revisions/{revision['id']}/", expect=(200,))
    if revision["conversion_status"] not in ("ready", "failed"):
        raise SystemExit(f"{path.name}: the conversion task ended with the revision {revision['conversion_status']} "
                         f"({revision['conversion_error']}); see {worker.log_path}")
    preview = worker.ended(PREVIEW_TASK) if revision["conversion_status"] == "ready" else None
    queued, claimed, finished = (_moment(revision[f"conversion_{name}_at"]) for name in ("queued", "started", "finished"))
    return {
        "pipeline": finished - queued, "queue wait": claimed - queued, "worker": finished - claimed,
        "child": revision["conversion_seconds"], "preview task": preview, "upload to ready": finished - sent_at,
        "outcome": "ready" if revision["conversion_status"] == "ready" else "failed: " + revision["conversion_error"],
    }


def redis_version(url):
    """Redis's version, or raises OSError saying why it does not answer."""
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=3).info("server")["redis_version"]
    except (redis.RedisError, OSError) as error:
        raise OSError(str(error)) from error


def forget_redis_keys(url, prefix):
    """Delete the keys this run's site made (its own prefix), and no other."""
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def measure_broker(section, broker, files, small, bare, scratch):
    rows = {path.name: {"bare": [], "size_kb": path.stat().st_size // 1024} for path in files}
    with storage_env(STORAGE) as storage:
        site = Site(Path(scratch) / f"site-{uuid.uuid4().hex[:6]}", {"CONVERSION_TIMEOUT_SECONDS": "120"},
                    database_url=database_setting(), broker_url=broker, storage_env=storage)
        try:
            with site, Worker(site) as worker:
                print(f"Conversion on {site.setup}", flush=True)
                section.setup[broker] = site.setup
                through_the_pipeline(site, worker, small)  # the worker's first task loads its code

                def run_bare(path):
                    rows[path.name]["bare"].append(bare(path))

                def run_pipeline(path):
                    for measured, value in through_the_pipeline(site, worker, path).items():
                        rows[path.name].setdefault(measured, []).append(value)

                for sample in range(SAMPLES):
                    for path in files:
                        for step in (run_pipeline, run_bare) if sample % 2 == 0 else (run_bare, run_pipeline):
                            flush_writes()  # neither pays for the other's writes
                            step(path)
                    print(f"  sample {sample + 1} of {SAMPLES}: pipeline "
                          f"{sum(row['pipeline'][-1] for row in rows.values()):.2f} s, bare "
                          f"{sum(row['bare'][-1] for row in rows.values()):.2f} s", flush=True)
        finally:
            if site.env.get("REDIS_KEY_PREFIX"):
                forget_redis_keys(broker, site.env["REDIS_KEY_PREFIX"])
    # Named by kind, not URL, so that runs with another Redis or data dir compare figure by figure.
    name = "the embedded broker" if broker == EMBEDDED else broker.split(":", 1)[0].capitalize()
    pipeline = [sum(row["pipeline"][index] for row in rows.values()) for index in range(SAMPLES)]
    reference = [sum(row["bare"][index] for row in rows.values()) for index in range(SAMPLES)]
    section.add(Figure(
        f"Conversion of the corpus ({len(files)} files), pipeline on {name}", "s", pipeline,
        "the same work bare: cascadio in a child forked from a warm process, gltfpack over 1 MB, the B-rep "
        "measurement in a warm child; the same files", reference,
        Target("ratio", "<=", OVERHEAD_TARGET), decimals=2,
        note="queued to finished, from the worker's timestamps",
    ))
    section.add(Figure(
        f"Upload to ready GLB, {small.name} ({small.stat().st_size // 1024} KB), {name}", "s",
        rows[small.name]["upload to ready"], target=Target("figure", "<", READY_TARGET_SECONDS), decimals=2,
        note="from the start of the upload's request to the worker's conversion_finished_at",
    ))

    def median(values, decimals=3):
        values = [value for value in values if value is not None]
        return f"{statistics.median(values):.{decimals}f}" if values else "-"

    section.tables.append(f"On {site.setup['broker']}, medians of {SAMPLES} samples (seconds):\n\n" + markdown_table(
        ("File", "Size (KB)", "Outcome", "Bare", "Pipeline", "Queue wait", "Worker", "Child",
         "Pipeline − bare", "Preview task"),
        [(file_name, row["size_kb"], row["outcome"][-1][:40], median(row["bare"]), median(row["pipeline"]),
          median(row["queue wait"]), median(row["worker"]), median(row["child"]),
          f"{statistics.median(row['pipeline']) - statistics.median(row['bare']):+.3f}", median(row["preview task"]))
         for file_name, row in rows.items()],
        numeric={1, 3, 4, 5, 6, 7, 8, 9},
    ) + f"\n\nCorpus total: pipeline {spread(pipeline, 2)} s, bare {spread(reference, 2)} s (median (min–max)).")


def main():
    section = Section("conversion", "Conversion")
    found = corpus()
    if found is None:
        section.skip(f"no STEP corpus at {CORPUS} (set PARTSITE_STEP_CORPUS).")
        return
    files, small = found
    with tempfile.TemporaryDirectory(prefix="partsite-bench-conversion-") as scratch:
        bare = Bare(scratch)
        bare(small)  # starts the fork server
        skipped = []
        for broker in BROKERS:
            if broker.startswith("redis"):
                try:
                    section.versions["Redis"] = redis_version(broker)
                except OSError as problem:
                    skipped.append(f"{broker}: no Redis answers ({problem})")
                    print(f"Conversion on {broker} skipped: {problem}", flush=True)
                    continue
            measure_broker(section, broker, files, small, bare, scratch)
    section.notes = "\n\n".join([
        "*Pipeline*: the revision's `conversion_finished_at − conversion_queued_at` after a simple upload, with one "
        "Celery worker (prefork, concurrency 1). *Queue wait*: queued to claimed (`conversion_started_at`), the "
        "broker's delivery. *Worker*: claimed to finished: copying the STEP file out of storage, the child, storing "
        "the GLB, compacting a GLB over 1 MB with gltfpack, measuring the B-rep in a child, storing and recording "
        "it all. *Child*: the converter child's own wall time (`conversion_seconds`), from the same runs. *Bare*: "
        "the same work with nothing of Partsite's around it: bench/bare.py in a child of multiprocessing's "
        "forkserver with numpy and cascadio preloaded, then gltfpack (files.compact) for a GLB over 1 MB and the "
        "B-rep measurement (files.geometry.measure_step, a child of its warm fork server), from the first fork to "
        "the last exit. *Preview task*: the worker's time for the preview it draws after "
        "each conversion (from Celery's log line), outside the pipeline's time.",
        *(["Not run: " + "; ".join(skipped) + "."] if skipped else []),
    ])
    section.save()


if __name__ == "__main__":
    main()
