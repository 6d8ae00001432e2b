"""Helpers for tests across the apps."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager, suppress
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from partsite import broker

# The ports the tests' own servers (webhook receivers, a fake Onshape, clamd) may listen on.
PORTS = range(8700, 8800)


def all_at_once(function, arguments, timeout=60):
    """Call function(argument) for each argument at the same moment, each on its own thread
    and database connection. Returns what each call returned or raised, in order."""
    together = threading.Barrier(len(arguments))
    outcomes = [None] * len(arguments)

    def call(index, argument):
        try:
            together.wait()
            outcomes[index] = function(argument)
        except Exception as error:  # the caller inspects every outcome
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=item) for item in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


def listening(handler):
    """A threaded HTTP server with `handler` on the first free port of PORTS, serving in the background."""
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


class WorkerProcess:
    """A real Celery worker in a process of its own, sharing the test's database and a broker with it.

    The broker is Redis when the tests run on Redis (with a key prefix of its own), else the
    embedded SQLite broker (partsite.broker) in `data_dir`. Tests that use it must commit what the worker
    reads: `django_db(transaction=True)`. `publishing()` points this process's Celery app at the
    same broker, and stops running tasks in-process, for as long as it lasts.
    """

    def __init__(self, data_dir, **environment):
        from django.conf import settings

        self.data_dir = Path(data_dir)
        self.log = self.data_dir / "worker.log"
        self.broker_url, self.transport_options = self._broker(settings)
        self.environment = {
            **os.environ,
            "PARTSITE_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": _database_url(connection.settings_dict),
            "CELERY_BROKER_URL": self.broker_url,
            "REDIS_KEY_PREFIX": self.transport_options.get("global_keyprefix", ""),
            "LOG_LEVEL": "INFO",
            **{name: str(value) for name, value in environment.items()},
        }
        self.process = None

    def _broker(self, settings):
        if settings.CELERY_BROKER_URL.startswith("redis"):
            return settings.CELERY_BROKER_URL, {"global_keyprefix": f"worker-test-{uuid.uuid4().hex[:8]}:"}
        return broker.url(self.data_dir / "broker.sqlite3"), {}

    def start(self):
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "--app", "partsite", "worker", "--queues",
                 "celery,conversions", "--concurrency", "2", "--loglevel", "INFO", "--without-mingle",
                 "--without-gossip", "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h"],
                cwd=Path(__file__).resolve().parent.parent, env=self.environment, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def output(self):
        return self.log.read_text(errors="replace")

    @contextmanager
    def publishing(self):
        from partsite.celery import app

        saved = app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager
        app.conf.broker_url, app.conf.broker_transport_options = self.broker_url, self.transport_options
        app.conf.task_always_eager = False
        _forget_broker_connections(app)
        try:
            yield self
        finally:
            app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager = saved
            _forget_broker_connections(app)

    def wait_for(self, condition, what, timeout=120):
        """Wait until `condition()` is true; fail saying `what` did not happen, with the worker's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the worker stopped:\n{self.output()[-5000:]}"
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} did not happen within {timeout} s; the worker's log:\n{self.output()[-5000:]}")


def _forget_broker_connections(app):
    """Celery keeps the pools of the broker it first used; the next publish looks them up again."""
    app._pool = None
    app.amqp._producer_pool = None


def _database_url(database):
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    user = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{user}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"


class Telling:
    """A context (reusable) in which changes are told as they commit: dispatched, emailed and delivered in-process."""

    def __init__(self, capture):
        self._capture, self._current = capture, []

    def __enter__(self):
        self._current.append(self._capture(execute=True))
        return self._current[-1].__enter__()

    def __exit__(self, *raised):
        return self._current.pop().__exit__(*raised)


@contextmanager
def small_file_system(path, *, size="1m", read_only=False):
    """A real file system of `size` (tmpfs) mounted at `path`, read-only if asked, for disks that
    fill up or refuse writes. Skips the test where mounting is not allowed (not root)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "partsite-test", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs to mount a small file system, as root: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


def free_port():
    """A TCP port nothing listens on now (the OS's pick: no clash with parallel test processes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def site_environment(data_dir, **variables):
    """The environment of a Partsite process on the embedded defaults, with its own data dir
    (and whatever `variables` add): none of the test run's own database, broker or cache."""
    inherited = {**os.environ}
    kept = {name: value for name, value in inherited.items() if not name.startswith(_SITE_SETTINGS)}
    return {**kept, "PARTSITE_DATA_DIR": str(data_dir), "LOG_LEVEL": "INFO", **variables}


_SITE_SETTINGS = ("DATABASE_", "CELERY_", "CACHE_", "REDIS_", "AWS_", "PARTSITE_", "DJANGO_SETTINGS_MODULE")


def manage(environment, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextmanager
def running(command, environment, output):
    """A process (in a session of its own) writing to the file `output`; on leaving, it and
    everything it started are killed."""
    with open(output, "wb") as log:
        process = subprocess.Popen(
            [str(part) for part in command], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(url, process, output, *, status=200, seconds=120):
    """Polls url until it answers with `status`; fails naming the process's output otherwise."""
    deadline = time.monotonic() + seconds
    answer = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the process stopped:\n{Path(output).read_text()[-5000:]}"
        answer = fetch(url, timeout=5)
        if answer[0] == status:
            return answer
        time.sleep(0.3)
    pytest.fail(f"{url} never answered {status} (last: {answer}):\n{Path(output).read_text()[-5000:]}")


def fetch(url, *, headers=None, data=None, timeout=30):
    """(status, headers, body) of a request; (None, None, the error) when nothing answered."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, refused.read()
    except (urllib.error.URLError, OSError) as error:
        return None, None, error


class OutageProxy:
    """A TCP proxy to a real service that a test can cut (the service "dies": connections are
    refused, those open are dropped) and restore, to see what clients get during an outage."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._listener = None
        self._open = set()
        self._lock = threading.Lock()
        self.restore()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        with self._lock:
            sockets, self._open = list(self._open), set()
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
