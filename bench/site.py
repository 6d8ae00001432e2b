"""Partsite's web server as the benchmarks start it, and an HTTP client: only its public faces.

Partsite runs under gunicorn (the Procfile's `web` command), configured only through the
environment, on a data dir of its own; the benchmarks talk to it over HTTP with an API key
made by `manage.py apikey`. The processes beside it (its worker, moto, the minimal server)
are in bench/servers.py.

The developer's own database, storage, broker and cache never leak in: each section says
what it runs on (BENCH_SITE_DATABASE_URL, BENCH_BROKER_URL, BENCH_STORAGE) and prints it,
the broker as the site's own settings resolve it (`manage.py diffsettings`).
"""

import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import ROOT

BIN = Path(sys.executable).parent
MIB = 2**20
READ_BYTES = MIB
EMBEDDED = "embedded"  # in BENCH_BROKER_URL: whatever broker Partsite embeds when CELERY_BROKER_URL is unset
# Settings a developer's shell may carry that would point the benchmark's site at their own
# database, storage, broker or tuning; the benchmark sets the ones it means explicitly.
ISOLATED_PREFIXES = (
    "AWS_", "DATABASE_", "CELERY_", "CACHE_URL", "REDIS_KEY_PREFIX", "SECRET_KEY", "UPLOAD_", "MAX_UPLOAD_MB",
    "PARTSITE_DATA_DIR", "PARTSITE_LOG_FILE", "WEB_", "BIND", "CONVERSION_", "PREVIEW_", "DEBUG",
)
PORT_RANGE = os.environ.get("BENCH_PORT_RANGE", "")  # e.g. 8400-8499; any free port when unset
_ports_given = set()


def free_port():
    if PORT_RANGE:
        low, high = map(int, PORT_RANGE.split("-"))
        candidates = [port for port in range(low, high + 1) if port not in _ports_given]
    else:
        candidates = [0]
    for candidate in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port = probe.getsockname()[1]
            _ports_given.add(port)
            return port
    raise SystemExit(f"no free port in BENCH_PORT_RANGE={PORT_RANGE}")


def file_chunks(path, start=0, length=None):
    with open(path, "rb") as source:
        source.seek(start)
        left = os.path.getsize(path) - start if length is None else length
        while left > 0 and (chunk := source.read(min(READ_BYTES, left))):
            left -= len(chunk)
            yield chunk


def warm(path):
    """Read a file once, so that a timed read finds it in the page cache."""
    for _ in file_chunks(path):
        pass


def flush_writes():
    """Write back every dirty page now, so that no timed transfer pays for the previous one's writes."""
    os.sync()


def peak_rss_mb(pid):
    """VmHWM: the most memory the process has ever had resident."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def process_tree(pid):
    """pid and every process under it."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        children.setdefault(_parent_pid(stat), []).append(int(stat.parent.name))
    found, waiting = [], [pid]
    while waiting:
        found.append(waiting.pop())
        waiting.extend(children.get(found[-1], ()))
    return found


def pin_apart(server_pids):
    """The benchmark's client on the first core, the servers (with every process and thread under them) on the
    others, so that a transfer and its reference are scheduled alike: left to the scheduler, the client and a
    server sometimes share a core and sometimes not, and the same upload ran at 580 or 1,600 MB/s by that
    alone. Says what it did; does nothing on one core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return "client and servers share the only core"
    client, servers = {cores[0]}, set(cores[1:])
    os.sched_setaffinity(0, client)
    for pid in {tree_pid for pid in server_pids for tree_pid in process_tree(pid)}:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), servers)
    return f"the client on core {cores[0]}, the servers on core{'s' if len(servers) > 1 else ''} " + \
        ", ".join(map(str, sorted(servers)))


def _parent_pid(stat_path):
    try:
        # The command name in parentheses may contain spaces; the fields after it do not.
        return int(stat_path.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def stop(process, timeout=60):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(check, what, log_path=None, process=None, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if check():
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.2)
    tail = Path(log_path).read_text(errors="replace")[-3000:] if log_path and Path(log_path).exists() else ""
    raise SystemExit(f"{what} did not start:\n{tail}")


class Http:
    """Requests to one host; bodies may be generators (sent as they come, with a Content-Length)."""

    def __init__(self, base, key=None):
        self.base, self.key = base, key

    def call(self, method, url, body=None, headers=None, expect=(200,)):
        target = urlsplit(url if "://" in url else self.base + url)
        connection = http.client.HTTPConnection(target.netloc, timeout=600)
        headers = dict(headers or {})
        if self.key and target.netloc == urlsplit(self.base).netloc:
            headers["X-API-Key"] = self.key
        if isinstance(body, dict):
            body, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        try:
            connection.request(method, f"{target.path}?{target.query}" if target.query else target.path, body, headers)
            response = connection.getresponse()
            if response.status not in expect:
                raise RuntimeError(f"{method} {url}: {response.status} {response.read()[:500]!r}")
            return response, connection
        except BaseException:
            connection.close()
            raise

    def json(self, method, url, body=None, expect=(200, 201)):
        response, connection = self.call(method, url, body, expect=expect)
        try:
            return json.loads(response.read() or b"null")
        finally:
            connection.close()

    def ok(self, method, url, expect=(200,)):
        """Whether the request answers with one of `expect` (its body read and dropped)."""
        response, connection = self.call(method, url, expect=expect)
        try:
            response.read()
            return True
        finally:
            connection.close()

    def send(self, method, url, path, start=0, length=None, expect=(200, 201)):
        """The file (or a slice of it) as the request body, streamed; returns the response's body."""
        length = os.path.getsize(path) - start if length is None else length
        response, connection = self.call(
            method, url, file_chunks(path, start, length),
            {"Content-Length": str(length), "Content-Type": "application/octet-stream"}, expect=expect,
        )
        try:
            return response.read()
        finally:
            connection.close()

    def drain(self, url, digest=False):
        """GET the body, following one redirect, read in chunks and thrown away: (size, SHA-256 or None)."""
        response, connection = self.call("GET", url, expect=(200, 302))
        try:
            if response.status == 302:
                location = response.getheader("Location")
                response.read()
                return Http(self.base).drain(location, digest=digest)
            # Into one buffer, reused: a new MiB for every read is the client's allocator at work, not the server.
            sha256, size, buffer = hashlib.sha256() if digest else None, 0, memoryview(bytearray(READ_BYTES))
            while read := response.readinto(buffer):
                if sha256:
                    sha256.update(buffer[:read])
                size += read
            return size, sha256.hexdigest() if sha256 else None
        finally:
            connection.close()


def database_setting():
    """The site's database: BENCH_SITE_DATABASE_URL, or a fresh SQLite file in its data dir (None)."""
    return os.environ.get("BENCH_SITE_DATABASE_URL") or None


class Site:
    """Partsite under gunicorn (the Procfile's web command), configured only through the environment."""

    def __init__(self, data_dir, env=None, max_upload_mb=500, workers=1, threads=4, database_url=None,
                 broker_url=None, storage_env=None, pages=False):
        # A name of its own: a database given in BENCH_SITE_DATABASE_URL outlives a run.
        self.data_dir, self.lead, self.pages = Path(data_dir), f"bench-{uuid.uuid4().hex[:8]}", pages
        self.port = free_port()
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(ISOLATED_PREFIXES)}
        self.env = {
            **inherited, "PARTSITE_DATA_DIR": str(self.data_dir), "WEB_WORKERS": str(workers),
            "WEB_THREADS": str(threads), "BIND": f"127.0.0.1:{self.port}", "MAX_UPLOAD_MB": str(max_upload_mb),
            "DEBUG": "0", "LOG_LEVEL": "WARNING", **(storage_env or {}), **(env or {}),
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if pages:  # the pages' scripts and styles, collected as `make run` does
            self.env["STATIC_ROOT"] = str(self.data_dir / "static")
        if broker_url not in (None, EMBEDDED):
            self.env["CELERY_BROKER_URL"] = broker_url
            if broker_url.startswith("redis"):
                # Keys of their own, so that a shared Redis's other queues are neither read nor touched.
                self.env["REDIS_KEY_PREFIX"] = f"partsite-bench-{uuid.uuid4().hex[:8]}:"
        self.setup = {
            "database": without_password(database_url) if database_url else "SQLite in a fresh data dir",
            "broker": "",  # as the site reports it, once it is set up
            "storage": "S3 at " + storage_env["AWS_S3_ENDPOINT_URL"] + " (moto)" if storage_env else "local disk",
            "web": f"gunicorn, {workers} worker(s) × {threads} threads",
        }
        self.process = None

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def __enter__(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.setup["broker"] = self.broker_in_use()
        if self.pages:
            self.manage("collectstatic", "--noinput", "-v0")
        self.password = uuid.uuid4().hex
        self.manage("createuser", self.lead, "--role", "lead", "--password", self.password)
        key = self.manage("apikey", "create", self.lead, "--name", "benchmark").strip().splitlines()[-1]
        self.log_path = self.data_dir / "gunicorn.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "partsite.wsgi", "--config", "python:partsite.gunicorn"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = Http(self.base, key)
        wait_until(lambda: self.http.ok("GET", "/health/"),
                   f"gunicorn on port {self.port}", self.log_path, self.process)
        return self

    def __exit__(self, *exc):
        stop(self.process, timeout=30)
        self.log.close()

    def broker_in_use(self):
        """The broker URL the site's settings resolve to (`manage.py diffsettings`), password hidden."""
        found = re.search(r"^CELERY_BROKER_URL = '([^']*)'", self.manage("diffsettings"), re.MULTILINE)
        url = without_password(found[1]) if found else "unknown"
        return url + (" (Partsite's embedded broker)" if "CELERY_BROKER_URL" not in self.env else "")

    @property
    def worker_pids(self):
        master = self.process.pid
        return [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _parent_pid(stat) == master]

    def peak_rss_mb(self):
        """The one web worker's VmHWM."""
        pids = self.worker_pids
        if len(pids) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {pids}")
        return peak_rss_mb(pids[0])

    def new_part(self):
        return self.http.json("POST", "/api/parts/", {"name": f"Bench {uuid.uuid4().hex[:6]}", "type": "cnc"})["id"]

    def upload_simple(self, path, part_id=None):
        """POST /api/parts/{id}/revisions/ with a multipart body streamed from the file; returns the revision."""
        part_id = part_id or self.new_part()
        boundary = uuid.uuid4().hex
        before = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nbenchmark\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{Path(path).name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        after = f"\r\n--{boundary}--\r\n".encode()

        def body():
            yield before
            yield from file_chunks(path)
            yield after

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(before) + os.path.getsize(path) + len(after)),
        }
        response, connection = self.http.call("POST", f"/api/parts/{part_id}/revisions/", body(), headers,
                                              expect=(201,))
        try:
            return json.loads(response.read())
        finally:
            connection.close()

    def upload_direct(self, path, sha256, part_id=None):
        """Start a direct upload, PUT every part to its URL (Partsite's or storage's), complete it.

        Returns (the revision, the upload as started)."""
        size = os.path.getsize(path)
        upload = self.http.json(
            "POST", f"/api/parts/{part_id or self.new_part()}/uploads/",
            {"filename": Path(path).name, "size": size, "sha256": sha256},
        )
        for part in upload["parts"]:
            start = (part["number"] - 1) * upload["part_size"]
            self.http.send(part["method"], part["url"], path, start, min(upload["part_size"], size - start))
        return self.http.json("POST", f"/api/uploads/{upload['id']}/complete/"), upload


def without_password(url):
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def generate_step(path, size_mb):
    """A valid STEP file of exactly size_mb MiB: a small solid, padded with comments. Returns its SHA-256."""
    head = (
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('benchmark'),'2;1');\n"
        f"FILE_NAME('bench{size_mb}.step','2026-01-01T00:00:00',(''),(''),'','','');\n"
        "FILE_SCHEMA(('AUTOMOTIVE_DESIGN { 1 0 10303 214 1 1 1 1 }'));\nENDSEC;\nDATA;\n"
        "#1=CARTESIAN_POINT('',(0.,0.,0.));\n"
    ).encode()
    trailer = b"ENDSEC;\nEND-ISO-10303-21;\n"
    line = ("/* padding " + "-" * 66 + " */\n").encode()
    block = line * (READ_BYTES // len(line))
    remaining = size_mb * MIB - len(head) - len(trailer)
    sha256 = hashlib.sha256()
    with open(path, "wb") as out:
        for piece in _pieces(head, block, remaining, trailer):
            sha256.update(piece)
            out.write(piece)
    return sha256.hexdigest()


def _pieces(head, block, remaining, trailer):
    yield head
    while remaining >= len(block):
        yield block
        remaining -= len(block)
    yield b"\n" * remaining
    yield trailer
