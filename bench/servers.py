"""The processes beside Partsite's web server: its Celery worker, moto's S3 and the minimal server.

The worker is started as the Procfile starts it and read through its log, as it is
written, by a thread blocked on the pipe: the benchmark learns that a task ended from
Celery's own line for it, so nothing polls Partsite while it works.
"""

import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.harness import ROOT
from bench.site import BIN, ISOLATED_PREFIXES, Http, free_port, stop, wait_until

# Celery's own line when a task returns or raises (celery.app.trace), whatever the log format around it.
TASK_ENDED = re.compile(r"Task (?P<name>[\w.]+)\[[\w-]+\] (?:succeeded in (?P<seconds>[\d.e-]+)s|raised)")


class Worker:
    """A Celery worker as the Procfile starts it (without beat, one process), on the site's settings.

    Its log is read as it is written, by a thread blocked on the pipe: `ended(name)` returns
    when the worker logs that a task of that name returned, at no cost to the machine while
    it waits.
    """

    def __init__(self, site, queues="celery,conversions"):
        self.site, self.queues = site, queues
        self.ended_tasks = queue.Queue()
        self.ready = threading.Event()

    def __enter__(self):
        env = {**self.site.env, "LOG_LEVEL": "INFO"}
        self.log_path = self.site.data_dir / "worker.log"
        self.process = subprocess.Popen(
            [str(BIN / "celery"), "--app", "partsite", "worker", "--queues", self.queues, "--concurrency", "1",
             "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(120) or self.process.poll() is not None:
            stop(self.process)
            raise SystemExit("the Celery worker did not start:\n" + self.log_path.read_text(errors="replace")[-3000:])
        return self

    def _read(self):
        with open(self.log_path, "wb") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                text = line.decode(errors="replace")
                if " ready." in text:
                    self.ready.set()
                if match := TASK_ENDED.search(text):
                    seconds = match["seconds"]
                    self.ended_tasks.put((match["name"], float(seconds) if seconds else None))

    def ended(self, name, timeout=600):
        """Wait for the worker to log the end of a task called `name`; returns its seconds (None if it raised)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ended, seconds = self.ended_tasks.get(timeout=5)
            except queue.Empty:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the worker logged no end of {name} (exit code {self.process.poll()}):\n"
                                     + self.log_path.read_text(errors="replace")[-3000:]) from None
                continue
            if ended == name:
                return seconds

    def __exit__(self, *exc):
        stop(self.process)
        self.reader.join(timeout=10)


class MotoServer:
    """moto's S3 in a process of its own, so its memory and CPU are not the benchmark's."""

    bucket = "partsite-bench"

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: Http(self.endpoint).ok("PUT", f"/{self.bucket}"), "moto's S3 server", process=self.process, seconds=30)
        import boto3

        self.client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                                   aws_access_key_id="bench", aws_secret_access_key="bench")
        return self

    def __exit__(self, *exc):
        stop(self.process, timeout=30)

    def env(self):
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket, "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_S3_REGION_NAME": "us-east-1",
        }

    def keys(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def delete(self, keys):
        for key in keys:
            self.client.delete_object(Bucket=self.bucket, Key=key)


class MinimalServer:
    """bench/minimal_server.py under gunicorn with Partsite's settings: the references' server."""

    def __init__(self, folder, log_dir):
        self.folder, self.log_dir = Path(folder), Path(log_dir)

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(ISOLATED_PREFIXES)}
        env = {**inherited, "BENCH_MINIMAL_ROOT": str(self.folder), "BIND": f"127.0.0.1:{self.port}",
               "WEB_WORKERS": "1", "PARTSITE_DATA_DIR": str(self.log_dir)}
        self.log = open(self.log_dir / "minimal-server.log", "wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "bench.minimal_server:app", "--config", "python:partsite.gunicorn"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.http = Http(f"http://127.0.0.1:{self.port}")
        wait_until(lambda: self.http.ok("GET", "/"), "bench/minimal_server.py",
                   self.log_dir / "minimal-server.log", self.process, seconds=30)
        return self

    def __exit__(self, *exc):
        stop(self.process, timeout=30)
        self.log.close()


@contextlib.contextmanager
def storage_env(name):
    """The settings for a storage named in BENCH_STORAGE: None for local disk, moto's S3 started for s3."""
    if name == "local":
        yield None
    elif name == "s3":
        with MotoServer() as moto:
            yield moto.env()
    else:
        raise SystemExit(f"BENCH_STORAGE may name local and s3, not {name!r}")
