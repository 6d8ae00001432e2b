"""Helpers for tests across the apps."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

from django.db import connection

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
    embedded filesystem broker in `data_dir`. Tests that use it must commit what the worker
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
        folders = {name: self.data_dir / "broker" / name for name in ("queue", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        return "filesystem://", {
            "data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
            "store_processed": False, "polling_interval": 0.1,
        }

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
