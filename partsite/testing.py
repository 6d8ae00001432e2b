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
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.db import connection


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
