"""How fast Partsite moves big CAD files, and how much memory its web worker needs for them.

Starts the site the way production does (gunicorn with partsite.gunicorn, one worker) on a
fresh data dir, uploads generated STEP files through the simple multipart path and the
direct (resumable) path, downloads the largest one, and prints seconds, MB/s and the
worker's peak RSS (VmHWM) before and after each transfer. Then does the same against S3
(moto's server in its own process), where the parts of a direct upload never touch
Partsite. Bodies are streamed from disk over http.client; nothing is built in memory.

Beside the largest file's simple upload and its download, the same bytes are written to and
read from the same storage directly (a file in the storage folder; a PUT and a GET with
boto3 on S3): the references the targets are ratios of.

    make bench                          # 50, 200 and 500 MB
    BENCH_SIZES_MB=50,200 make bench    # BENCH_QUICK=1 means 50 MB only
    BENCH_S3=0 make bench               # local disk only

Prints figures only; nothing here fails on timing. The findings go to bench/out/ and
bench/RESULTS.md (bench/results.py).
"""

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import QUICK, Finding, Section  # noqa: E402  (needs ROOT on the path)
from files.tests.samples import box_step  # noqa: E402

BIN = Path(sys.executable).parent
MIB = 2**20
READ_BYTES = 1 * MIB
SIZES_MB = [
    int(size) for size in os.environ.get("BENCH_SIZES_MB", "50" if QUICK else "50,200,500").split(",") if size.strip()
]
UPLOAD_RATIO_TARGET, DOWNLOAD_RATIO_TARGET, PEAK_RSS_TARGET_MB = 0.8, 0.8, 150
WITH_S3 = os.environ.get("BENCH_S3", "1").strip().lower() not in ("0", "false", "no", "off")
LEAD = "bench"
# The developer's own database, storage, broker and cache stay out of the benchmark.
ISOLATED_PREFIXES = ("AWS_", "DATABASE_URL", "CELERY_", "CACHE_URL", "SECRET_KEY", "UPLOAD_", "MAX_UPLOAD_MB")


@dataclass
class Row:
    storage: str
    transfer: str
    size_mb: float
    seconds: float
    peak_before_mb: float
    peak_after_mb: float
    note: str = ""

    @property
    def rate(self):
        return self.size_mb / self.seconds if self.seconds else float("inf")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def generate_step(path, size_mb):
    """A valid STEP file of exactly size_mb MiB: a small solid, padded with comments. Returns its SHA-256."""
    whole = box_step(name=f"Bench{size_mb}").decode()
    trailer = "ENDSEC;\nEND-ISO-10303-21;\n"
    head, trailer = whole.removesuffix(trailer).encode(), trailer.encode()
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


def file_chunks(path, start=0, length=None):
    with open(path, "rb") as source:
        source.seek(start)
        left = os.path.getsize(path) - start if length is None else length
        while left > 0 and (chunk := source.read(min(READ_BYTES, left))):
            left -= len(chunk)
            yield chunk


def peak_rss_mb(pid):
    """VmHWM: the most memory the process has ever had resident."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _parent_pid(stat_path):
    try:
        # The command name in parentheses may contain spaces; the fields after it do not.
        return int(stat_path.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


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

    def drain(self, method, url, headers=None, expect=(200,), digest=True):
        """The response's body, read in chunks and thrown away: (size, SHA-256 or None)."""
        response, connection = self.call(method, url, headers=headers, expect=expect + (302,))
        try:
            if response.status == 302:
                location = response.getheader("Location")
                response.read()
                return Http(self.base).drain("GET", location, digest=digest)
            sha256, size = hashlib.sha256() if digest else None, 0
            while chunk := response.read(READ_BYTES):
                if sha256:
                    sha256.update(chunk)
                size += len(chunk)
            return size, sha256.hexdigest() if sha256 else None
        finally:
            connection.close()


class Site:
    """Partsite under gunicorn, configured only through the environment, as in production."""

    def __init__(self, data_dir, env=None, max_upload_mb=500, lead=LEAD):
        self.data_dir, self.lead = Path(data_dir), lead
        self.port = free_port()
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(ISOLATED_PREFIXES)}
        self.env = {
            **inherited, "PARTSITE_DATA_DIR": str(self.data_dir), "WEB_WORKERS": "1",
            "BIND": f"127.0.0.1:{self.port}", "MAX_UPLOAD_MB": str(max_upload_mb), "DEBUG": "0",
            "LOG_LEVEL": "WARNING", **(env or {}),
        }
        self.process = None

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def __enter__(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.manage("createuser", self.lead, "--role", "lead")
        key = self.manage("apikey", "create", self.lead, "--name", "benchmark").strip().splitlines()[-1]
        self.log = open(self.data_dir / "gunicorn.log", "wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "partsite.wsgi", "--config", "python:partsite.gunicorn"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.http = Http(f"http://127.0.0.1:{self.port}", key)
        self._wait_until_up()
        return self

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def _wait_until_up(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.http.json("GET", "/health/", expect=(200,))
                return
            except (OSError, RuntimeError):
                time.sleep(0.2)
        tail = (self.data_dir / "gunicorn.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"gunicorn did not come up on port {self.port}:\n{tail}")

    @property
    def worker_pid(self):
        """The one gunicorn worker: the master's child."""
        master = self.process.pid
        children = [
            stat.parent.name for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent_pid(stat) == master
        ]
        if len(children) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {children}")
        return int(children[0])

    def peak_rss_mb(self):
        return peak_rss_mb(self.worker_pid)

    def new_part(self):
        return self.http.json("POST", "/api/parts/", {"name": f"Bench {uuid.uuid4().hex[:6]}", "type": "cnc"})["id"]


def upload_simple(site, path, part_id):
    """POST /api/parts/{id}/revisions/ with a multipart body streamed from the file."""
    boundary = uuid.uuid4().hex
    before = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nbenchmark\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    after = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield before
        yield from file_chunks(path)
        yield after

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(before) + path.stat().st_size + len(after)),
    }
    response, connection = site.http.call("POST", f"/api/parts/{part_id}/revisions/", body(), headers, expect=(201,))
    try:
        return json.loads(response.read())
    finally:
        connection.close()


def upload_direct(site, path, part_id, sha256):
    """Start a direct upload, PUT every part to its URL (Partsite's or storage's), then complete it."""
    size = path.stat().st_size
    upload = site.http.json(
        "POST", f"/api/parts/{part_id}/uploads/", {"filename": path.name, "size": size, "sha256": sha256},
    )
    for part in upload["parts"]:
        start = (part["number"] - 1) * upload["part_size"]
        length = min(upload["part_size"], size - start)
        response, connection = site.http.call(
            part["method"], part["url"], file_chunks(path, start, length),
            {"Content-Length": str(length), "Content-Type": "application/octet-stream"},
        )
        response.read()
        connection.close()
    return site.http.json("POST", f"/api/uploads/{upload['id']}/complete/"), upload


def measured(site, storage, transfer, size_mb, action, note=""):
    before = site.peak_rss_mb()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    row = Row(storage, transfer, size_mb, seconds, before, site.peak_rss_mb(), note)
    print(
        f"  {storage:<5} {transfer:<22} {size_mb:>6.0f} MB {seconds:>7.2f} s {row.rate:>7.1f} MB/s   "
        f"worker peak RSS {row.peak_before_mb:.0f} -> {row.peak_after_mb:.0f} MB",
        flush=True,
    )
    return row, result


def run_transfers(site, storage, files, rows, direct):
    """Every transfer through Partsite, and the largest file written and read directly beside it.

    Returns the findings for the largest file: upload and download speed against their
    references, and the worker's peak memory.
    """
    warm_up(site, files["warm-up"])
    print(f"  {storage}: worker peak RSS after start and a 1 MB warm-up: {site.peak_rss_mb():.0f} MB", flush=True)
    largest = None
    for size_mb in SIZES_MB:
        path, sha256 = files[size_mb]
        row, revision = measured(site, storage, "upload, simple", size_mb,
                                 lambda: upload_simple(site, path, site.new_part()))
        check(revision["sha256"] == sha256, "the simple upload stored other bytes")
        row.note = "sent to S3 in parts as it arrived" if storage == "s3" else "spooled to disk, then moved into place"
        rows.append(row)
        simple = row
        row, (revision, upload) = measured(site, storage, "upload, direct parts", size_mb,
                                           lambda: upload_direct(site, path, site.new_part(), sha256))
        check(revision["sha256"] == sha256, "the direct upload stored other bytes")
        row.note = f"{len(upload['parts'])} × {upload['part_size'] // MIB} MiB parts, {where_parts_went(site, upload)}"
        rows.append(row)
        largest = revision
    size_mb = SIZES_MB[-1]
    path = files[size_mb][0]
    url = f"/api/revisions/{largest['id']}/download/"
    check(site.http.drain("GET", url) == (largest["size"], largest["sha256"]), "the download differs from the upload")
    row, (size, _) = measured(
        site, storage, "download", size_mb, lambda: site.http.drain("GET", url, digest=False),
        "a 302 to a presigned S3 URL" if storage == "s3" else "the open file, sent by gunicorn with sendfile()",
    )
    rows.append(row)
    download = row

    put_seconds = timed(lambda: direct.put(path))
    rows.append(Row(storage, "reference: direct write", size_mb, put_seconds, 0, 0, direct.put_how))
    second = "reference: page-cache copy" if storage == "local" else "reference: multipart write"
    direct.delete()
    copy_seconds = timed(lambda: direct.copy(path))
    rows.append(Row(storage, second, size_mb, copy_seconds, 0, 0, direct.copy_how))
    print(f"  {storage:<5} {second:<22} {size_mb:>6.0f} MB {copy_seconds:>7.2f} s "
          f"{size_mb / copy_seconds:>7.1f} MB/s   ({direct.copy_how})", flush=True)
    get_seconds = timed(direct.get)
    rows.append(Row(storage, "reference: direct read", size_mb, get_seconds, 0, 0, direct.get_how))
    if hasattr(direct, "second_get"):
        second_get_seconds = timed(direct.second_get)
        rows.append(Row(storage, "reference: HTTP GET", size_mb, second_get_seconds, 0, 0, direct.second_get_how))
        print(f"  {storage:<5} {'reference: HTTP GET':<22} {size_mb:>6.0f} MB {second_get_seconds:>7.2f} s "
              f"{size_mb / second_get_seconds:>7.1f} MB/s   ({direct.second_get_how})", flush=True)
    direct.delete()
    print(f"  {storage:<5} {'reference: direct write':<22} {size_mb:>6.0f} MB {put_seconds:>7.2f} s "
          f"{size_mb / put_seconds:>7.1f} MB/s   ({direct.put_how})", flush=True)
    print(f"  {storage:<5} {'reference: direct read':<22} {size_mb:>6.0f} MB {get_seconds:>7.2f} s "
          f"{size_mb / get_seconds:>7.1f} MB/s   ({direct.get_how})", flush=True)

    upload_ratio = put_seconds / simple.seconds
    download_ratio = get_seconds / download.seconds
    beside = [
        Finding(
            f"Upload {size_mb} MB STEP, simple path, {storage}, beside the second reference", f"{simple.rate:.0f} MB/s",
            f"{size_mb / copy_seconds:.0f} MB/s ({direct.copy_how})", copy_seconds / simple.seconds,
        ),
    ]
    if hasattr(direct, "second_get"):
        beside.append(Finding(
            f"Download {size_mb} MB through Partsite, {storage}, beside an HTTP GET", f"{download.rate:.0f} MB/s",
            f"{size_mb / second_get_seconds:.0f} MB/s ({direct.second_get_how})",
            second_get_seconds / download.seconds,
        ))
    return [
        Finding(
            f"Upload {size_mb} MB STEP, simple path, {storage}", f"{simple.rate:.0f} MB/s",
            f"{size_mb / put_seconds:.0f} MB/s ({direct.put_how})", upload_ratio, f">= {UPLOAD_RATIO_TARGET}",
            upload_ratio >= UPLOAD_RATIO_TARGET,
        ),
        Finding(
            f"Web worker peak RSS after the {size_mb} MB simple upload, {storage}", f"{simple.peak_after_mb:.0f} MB",
            target=f"< {PEAK_RSS_TARGET_MB} MB", met=simple.peak_after_mb < PEAK_RSS_TARGET_MB,
        ),
        Finding(
            f"Download {size_mb} MB through Partsite, {storage}", f"{download.rate:.0f} MB/s",
            f"{size_mb / get_seconds:.0f} MB/s ({direct.get_how})", download_ratio, f">= {DOWNLOAD_RATIO_TARGET}",
            download_ratio >= DOWNLOAD_RATIO_TARGET,
        ),
    ] + beside


def timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class LocalDirect:
    """The reference on local disk: the same bytes PUT over HTTP into, and read from, the storage folder.

    Local disk has no PUT, so the put is one to bench/put_server.py: a WSGI app under
    gunicorn with Partsite's settings that only writes the body into the storage folder, 1 MiB
    at a time, from the same client as the simple upload. The second reference, a plain copy
    into the folder through the page cache, is what the disk itself takes (no HTTP at all).
    """

    put_how = "an HTTP PUT to a minimal server writing into the storage folder"
    copy_how = "copied into the storage folder, 1 MiB at a time (no HTTP)"
    get_how = "read from the storage folder, 1 MiB at a time"

    def __init__(self, media_root, data_dir):
        self.folder = Path(media_root) / "revisions"
        self.path = self.folder / f"direct-{uuid.uuid4().hex}.step"
        self.data_dir = Path(data_dir)

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {**os.environ, "BENCH_PUT_ROOT": str(self.folder), "BIND": f"127.0.0.1:{self.port}",
               "WEB_WORKERS": "1"}
        self.log = open(self.data_dir / "put-server.log", "wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "bench.put_server:app", "--config", "python:partsite.gunicorn"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.http = Http(f"http://127.0.0.1:{self.port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                response, connection = self.http.call("GET", "/")
                response.read()
                connection.close()
                return self
            except (OSError, RuntimeError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("bench/put_server.py did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def put(self, source):
        response, connection = self.http.call(
            "PUT", f"/{self.path.name}", file_chunks(source),
            {"Content-Length": str(source.stat().st_size), "Content-Type": "application/octet-stream"},
            expect=(201,),
        )
        response.read()
        connection.close()

    def copy(self, source):
        with open(self.path, "wb") as out:
            for chunk in file_chunks(source):
                out.write(chunk)

    def get(self):
        with open(self.path, "rb") as stored:
            while stored.read(READ_BYTES):
                pass

    second_get_how = "an HTTP GET from the minimal server (sendfile())"

    def second_get(self):
        self.http.drain("GET", f"/{self.path.name}", digest=False)

    def delete(self):
        self.path.unlink()


class S3Direct:
    """The reference on S3: one PUT of the same bytes with boto3, and one GET of them."""

    put_how = "one PUT with boto3"
    copy_how = "a multipart upload with boto3 (upload_file, 8 MiB parts)"
    get_how = "one GET with boto3, 1 MiB at a time"

    def __init__(self, moto):
        import boto3

        self.client = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                                   aws_access_key_id="bench", aws_secret_access_key="bench")
        self.bucket, self.key = moto.bucket, f"revisions/direct-{uuid.uuid4().hex}.step"

    def put(self, source):
        with open(source, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body)

    def copy(self, source):
        """The same bytes as an S3 multipart upload: 8 MiB parts, two at a time, as the simple path sends them."""
        from boto3.s3.transfer import TransferConfig

        self.client.upload_file(str(source), self.bucket, self.key,
                                Config=TransferConfig(multipart_chunksize=8 * MIB, max_concurrency=2))

    def get(self):
        body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"]
        for _ in body.iter_chunks(READ_BYTES):
            pass

    def delete(self):
        self.client.delete_object(Bucket=self.bucket, Key=self.key)


def where_parts_went(site, upload):
    to_partsite = sum(urlsplit(part["url"]).netloc == urlsplit(site.http.base).netloc for part in upload["parts"])
    if to_partsite == len(upload["parts"]):
        return "all to Partsite"
    return "all straight to storage" if not to_partsite else f"{to_partsite} to Partsite"


def check(condition, problem):
    if not condition:
        raise SystemExit(f"Benchmark stopped: {problem}.")


def warm_up(site, files):
    """Load every code path once, so the figures show the transfers and not first-use imports."""
    path, sha256 = files
    upload_simple(site, path, site.new_part())
    revision, _ = upload_direct(site, path, site.new_part(), sha256)
    site.http.drain("GET", f"/api/revisions/{revision['id']}/download/")


class MotoServer:
    """moto's S3 in a process of its own, so its memory is not the benchmark's."""

    bucket = "partsite-bench"

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                Http(self.endpoint).json("PUT", f"/{self.bucket}", expect=(200,))
                return self
            except (OSError, RuntimeError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("moto's server did not start")
                time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def env(self):
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket, "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_S3_REGION_NAME": "us-east-1",
        }


def table(rows):
    header = ("Storage", "Transfer", "Size (MB)", "Seconds", "MB/s", "Worker peak RSS before → after (MB)", "Notes")
    lines = [
        (row.storage, row.transfer, f"{row.size_mb:.0f}", f"{row.seconds:.2f}", f"{row.rate:.0f}",
         f"{row.peak_before_mb:.0f} → {row.peak_after_mb:.0f}", row.note)
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines)]
    numeric = {2, 3, 4}

    def render(cells):
        return "| " + " | ".join(
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths))
        ) + " |"

    rule = "|" + "|".join(("-" * (width + 1) + ":" if index in numeric else "-" * (width + 2))
                          for index, width in enumerate(widths)) + "|"
    return "\n".join([render(header), rule, *map(render, lines)])


def main():
    started = time.perf_counter()
    max_upload_mb = max(500, *SIZES_MB)
    rows, findings = [], []
    with tempfile.TemporaryDirectory(prefix="partsite-bench-") as scratch:
        scratch = Path(scratch)
        print(f"Generating STEP files of {', '.join(map(str, SIZES_MB))} MB in {scratch} ...", flush=True)
        warm_up_path = scratch / "warm-up.step"
        files = {"warm-up": (warm_up_path, generate_step(warm_up_path, 1))}
        for size_mb in SIZES_MB:
            path = scratch / f"bench-{size_mb}mb.step"
            files[size_mb] = (path, generate_step(path, size_mb))

        print("Local disk (gunicorn, 1 worker):", flush=True)
        with (Site(scratch / "local", max_upload_mb=max_upload_mb) as site,
              LocalDirect(site.data_dir / "media", site.data_dir) as direct):
            findings += run_transfers(site, "local", files, rows, direct)
        if WITH_S3:
            print("S3 (moto's server; gunicorn, 1 worker):", flush=True)
            with MotoServer() as moto, Site(scratch / "s3", moto.env(), max_upload_mb=max_upload_mb) as site:
                findings += run_transfers(site, "s3", files, rows, S3Direct(moto))

    report = table(rows)
    print(f"\n{report}\n")
    notes = (
        "Peak RSS is the gunicorn worker's VmHWM: the most it has ever held resident, so it can only grow.\n"
        "Direct uploads include completing them: joining the parts and re-reading the whole file for its "
        "SHA-256.\ns3 is moto's S3 server on this machine: its speeds are moto's, not those of a real S3.\n"
        "Timed downloads are read and thrown away (an untimed one checks the SHA-256), as the direct read is."
    )
    print(notes + f"\nTotal run: {time.perf_counter() - started:.0f} s.")
    Section("transfers", "Uploads and downloads", findings, f"{report}\n\n" + notes.replace("\n", "\n\n")).save()


if __name__ == "__main__":
    main()
