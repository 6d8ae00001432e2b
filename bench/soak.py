"""`make soak`: sixteen clients against a live `manage.py serve` for SOAK_SECONDS (600), the worker
killed half-way. Reports the errors, the conversions lost or stuck afterwards, the worker's memory
at the start and the end, and how long the site took to convert a new file after the kill.

The site runs on the embedded set-up (SQLite, the SQLite broker, local disk) in a data dir of its
own; DATABASE_URL, CELERY_BROKER_URL and CACHE_URL in the environment put it on PostgreSQL and
Redis instead, and SOAK_S3=moto on S3 (a moto server started here). SOAK_USERS (16), SOAK_PORT
(8200; moto takes the next port), SOAK_KILL_WORKER (1). The figures are printed and written to
SOAK_OUTPUT (soak-results.json in the site's data dir).
"""

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SETTLE_SECONDS = 240  # after the load stops: how long conversions may take to finish before counting


def env_int(name, default):
    return int(os.environ.get(name) or default)


class Site:
    def __init__(self, data_dir, port, extra):
        self.data_dir, self.port = data_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.environment = {
            **os.environ, "PARTSITE_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **extra,
        }
        self.process = None

    def manage(self, *args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.environment, capture_output=True, text=True,
            timeout=600,
        )
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self):
        self.log = open(self.data_dir / "serve.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)], cwd=ROOT, env=self.environment,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ready/", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        raise SystemExit(f"the site did not become ready; see {self.data_dir / 'serve.log'}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def worker_processes(self):
        """The Celery worker's main process and its children (pool processes, fork servers, converters)."""
        for process in psutil.Process(self.process.pid).children(recursive=True):
            try:
                command = process.cmdline()
            except psutil.Error:
                continue
            if "worker" in command and any(part.endswith("celery") for part in command):
                try:
                    return process, process.children(recursive=True)
                except psutil.Error:
                    return process, []
        return None, []

    def worker_rss_mb(self):
        """{"worker": the main and pool processes, "converters": their fork servers and children}, in MB."""
        main, children = self.worker_processes()
        if main is None:
            return None
        sizes = {"worker": 0, "converters": 0}
        pool = {main.pid, *(child.pid for child in main.children())}
        for process in [main, *children]:
            try:
                sizes["worker" if process.pid in pool else "converters"] += process.memory_info().rss
            except psutil.Error:
                pass
        return {name: round(size / 2**20, 1) for name, size in sizes.items()}

    def call(self, method, path, key, body=None, content_type="application/json"):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=body, headers={"X-API-Key": key, "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read() or b"null")


def multipart(filename, content):
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def seed_people(site):
    site.manage("migrate", "--no-input")
    keys = {"lead": [], "fabricator": []}
    for role, count in (("lead", 2), ("fabricator", 4)):
        for number in range(count):
            username = f"soak-{role}-{number}"
            site.manage("createuser", username, "--role", role)
            keys[role].append(site.manage("apikey", "create", username).strip().splitlines()[-1])
    return keys


def seed_parts(site, lead):
    part_ids = []
    for number in range(24):
        part = site.call("POST", "/api/parts/", lead, json.dumps({
            "name": f"Soak part {number}", "type": ["cnc", "hand", "misc"][number % 3], "amount": 1,
        }).encode())
        part_ids.append(part["id"])
        if number % 2 and number % 3:  # not CNC parts: they are approved with a STEP model only
            site.call("POST", f"/api/parts/{part['id']}/approve/", lead, b"{}")
    return part_ids


def upload_and_wait(site, key, part_id, timeout):
    """Upload a new STEP file and wait for its conversion; returns seconds from now to `ready`, or None."""
    sys.path.insert(0, str(ROOT))
    from files.tests.samples import box_step

    body, content_type = multipart("probe.step", box_step(31, 17, 7, name=f"Probe {uuid.uuid4().hex[:8]}"))
    revision = site.call("POST", f"/api/parts/{part_id}/revisions/", key, body, content_type)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = site.call("GET", f"/api/revisions/{revision['id']}/", key)["conversion_status"]
        if state in ("ready", "failed"):
            return state
        time.sleep(0.5)
    return None


def conversion_counts(site):
    script = (
        "import json; from django.db.models import Count; from files.models import Revision; "
        "print(json.dumps({row['conversion_status']: row['n'] for row in "
        "Revision.objects.filter(kind='step').values('conversion_status').annotate(n=Count('id'))})); "
        "print(json.dumps(list(Revision.objects.filter(conversion_status='failed').values_list('conversion_error', flat=True)[:5])))"
    )
    lines = site.manage("shell", "-c", script).strip().splitlines()
    return json.loads(lines[-2]), json.loads(lines[-1])


def locust_stats(prefix):
    with open(f"{prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    return {
        row["Name"]: {
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "median_ms": float(row["Median Response Time"]), "p95_ms": float(row["95%"] or 0),
        }
        for row in rows
    }


def main():
    seconds, users, port = env_int("SOAK_SECONDS", 600), env_int("SOAK_USERS", 16), env_int("SOAK_PORT", 8200)
    data_dir = Path(tempfile.mkdtemp(prefix="partsite-soak-"))
    extra, moto = {}, None
    if os.environ.get("SOAK_S3") == "moto":
        from moto.server import ThreadedMotoServer

        import boto3

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port + 1, verbose=False)
        moto.start()
        endpoint = f"http://127.0.0.1:{port + 1}"
        extra = {
            "AWS_STORAGE_BUCKET_NAME": "partsite-soak", "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_S3_REGION_NAME": "us-east-1",
        }
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="soak",
                     aws_secret_access_key="soak").create_bucket(Bucket="partsite-soak")
    site = Site(data_dir, port, extra)
    figures = {
        "seconds": seconds, "users": users,
        "database": "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite",
        "broker": "Redis" if os.environ.get("CELERY_BROKER_URL", "").startswith("redis") else "embedded SQLite",
        "storage": "S3 (moto)" if moto else "local disk",
    }
    try:
        keys = seed_people(site)
        site.start()
        part_ids = seed_parts(site, keys["lead"][0])
        time.sleep(5)
        figures["worker_rss_mb_start"] = site.worker_rss_mb()
        prefix = str(data_dir / "locust")
        load = subprocess.Popen(
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "soak_locustfile.py"), "--headless",
             "-u", str(users), "-r", "4", "-t", f"{seconds}s", "--host", site.url, "--csv", prefix,
             "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "SOAK_KEYS": json.dumps(keys),
                           "SOAK_PART_IDS": json.dumps(part_ids)},
            stdout=open(data_dir / "locust.log", "wb"), stderr=subprocess.STDOUT,
        )
        time.sleep(seconds / 10)
        figures["worker_rss_mb_warm"] = site.worker_rss_mb()  # once the fork servers have started
        if env_int("SOAK_KILL_WORKER", 1):
            time.sleep(seconds / 2 - seconds / 10)
            main_process, _ = site.worker_processes()
            killed_at = time.monotonic()
            main_process.kill()  # SIGKILL: no warm shutdown, mid-conversion if one is running
            state = upload_and_wait(site, keys["lead"][0], part_ids[1], timeout=300)
            figures["recovery_seconds"] = round(time.monotonic() - killed_at, 1) if state == "ready" else None
            figures["recovery_probe"] = state
        load.wait()
        figures["worker_rss_mb_end"] = site.worker_rss_mb()
        figures["requests"] = locust_stats(prefix)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            counts, _ = conversion_counts(site)
            if not counts.get("pending") and not counts.get("running"):
                break
            time.sleep(5)
        figures["conversions"], figures["failed_examples"] = conversion_counts(site)
        figures["conversions_stuck"] = figures["conversions"].get("pending", 0) + figures["conversions"].get("running", 0)
        total = figures["requests"].get("Aggregated", {})
        figures["errors"] = total.get("failures")
    finally:
        site.stop()
        if moto:
            moto.stop()
    output = Path(os.environ.get("SOAK_OUTPUT", data_dir / "soak-results.json"))
    output.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    saved = save_for_bench(figures)
    print(f"data dir (logs, locust CSV): {data_dir}; the figures for `make bench`: {saved}")


def save_for_bench(figures):
    """Add this run's figures to the soak section `make bench` shows (BENCH_SOAK_RESULTS, bench/soak.json),
    beside those of the other set-up's latest run: each set-up's figures are named after it."""
    from bench.harness import Figure, Section, Target, markdown_table
    from bench.machine import stamp

    path = Path(os.environ.get("BENCH_SOAK_RESULTS") or ROOT / "bench" / "soak.json")
    setup = f"{figures['database']}, {figures['broker']}, {figures['storage']}"
    section = Section.from_json(json.loads(path.read_text())) if path.is_file() else Section("soak", "Soak")
    section.figures = [figure for figure in section.figures if not figure.measure.endswith(f"({setup})")]
    runs = {**section.setup, setup: {**stamp(), "seconds": figures["seconds"], "users": figures["users"]}}
    section.setup, section.ran = runs, stamp()
    recovery = figures.get("recovery_seconds")
    for measure, unit, value, target in [
        ("requests that failed", "requests", figures.get("errors"), Target("figure", "<=", 0)),
        ("conversions lost or stuck", "conversions", figures.get("conversions_stuck"), Target("figure", "<=", 0)),
        ("a new file converted after the worker was killed", "s", recovery, Target("figure", "<=", 60)),
        ("worker memory, start", "MB", (figures.get("worker_rss_mb_start") or {}).get("worker"), None),
        ("worker memory once warm", "MB", (figures.get("worker_rss_mb_warm") or {}).get("worker"), None),
        ("worker memory, end (the restarted worker's)", "MB", (figures.get("worker_rss_mb_end") or {}).get("worker"), None),
    ]:
        if value is not None:
            section.figures.append(Figure(f"{measure} ({setup})", unit, [value], target=target, decimals=1))
    section.tables = [markdown_table(
        ["Set-up", "Commit", "Date", "Seconds", "Clients"],
        [[name, run["commit"].split()[0], run["date"], run["seconds"], run["users"]] for name, run in runs.items()],
    )]
    section.notes = ("`make soak`: SOAK_USERS clients mixing list, detail, upload, download, moves and reconverts for "
                     "SOAK_SECONDS against `manage.py serve`, the worker killed half-way (its memory at the end is the "
                     "restarted worker's). One run per set-up, so each figure is one sample.")
    raw = dataclasses.asdict(section)
    raw["figures"] = [figure.as_json() for figure in section.figures]
    path.write_text(json.dumps(raw, indent=1))
    return path


if __name__ == "__main__":
    main()
