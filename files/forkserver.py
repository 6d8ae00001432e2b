"""Disposable child processes started warm: one fork server per worker process and child module.

Open CASCADE can segfault, abort or run away with memory, and matplotlib can take too long
on a huge mesh, so each conversion and each preview runs in a child process of its own,
under an address-space cap (RLIMIT_AS), a CPU cap (RLIMIT_CPU) and a wall-clock timeout
after which it is killed. Starting that child as a fresh interpreter that imports numpy
and cascadio cost a quarter to half a second a conversion: more than most conversions.

So, on first use, each worker process starts one small server per child module
(`python -m files.forkserver files.converter`). The server imports the module and calls
its `preload()` (numpy and cascadio; numpy, matplotlib and Pillow for the preview), then
waits for jobs, one JSON line each, on its stdin. For each job it forks a child that runs
the module's `main(argv)`, which puts the limits on itself, just as
`python -m module ARGV...` would. The server is the child's parent, so it enforces the
timeout, kills the child, reaps it with wait4 (for its peak memory) and answers with the
outcome (a ChildOutcome as a JSON line). Whatever the child does, only the child dies;
a server that dies anyway (or stops answering) is killed with its process group and
started again for the next job, and the job in hand fails with ForkServerLost, which the
conversion treats like storage trouble (released, tried again later).

Why not fork the Celery worker process itself: it holds a broker connection, a database
connection, logging locks and maybe threads, none of which survives fork safely, and
Open CASCADE would then live in every worker, including those that never convert. Why
not multiprocessing's forkserver (with set_forkserver_preload), which does the same: it
cannot start a child from a Celery pool process. billiard makes the pool process
multiprocessing's current process, which is daemonic ("daemonic processes are not allowed
to have children"), and with that flag cleared the start still fails on pickling billiard's
authentication key. The standard library's way left is a fresh interpreter per job, which
pays the imports every time. `make bench`'s children section (bench/children.py) measures
both side by side every run: for the corpus's small files, the fork server's children took
0.71× the time of a fresh interpreter per job for conversions and 0.24× for previews (bench/NOTES.md).

The server itself is single-threaded (OPENBLAS_NUM_THREADS=1): it says so on stderr if a
preloaded library ever starts a thread, since a fork would then copy that thread's locks.

It exits when its stdin closes, i.e. when its worker process is gone.
"""

import argparse
import contextlib
import importlib
import json
import math
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
KILL_GRACE_S = 1.0
POLL_MAX_S = 0.05
# On top of the job's own timeout, how long to wait for a server's answer: it may be
# preloading (a few seconds on a loaded machine) before it reads the job.
SERVER_GRACE_S = 120.0
OUTPUT_TAIL_BYTES = 4096


@dataclass
class ChildOutcome:
    exit_code: int  # negative: killed by that signal, as in subprocess
    timed_out: bool
    seconds: float
    peak_rss_mb: float
    peak_vm_mb: float
    last_output_line: str


class ForkServerLost(RuntimeError):
    """The fork server died or stopped answering; the job may be tried again."""


def run_child(module: str, input_path: str, output_path: str, timeout_s: float, memory_mb: int) -> ChildOutcome:
    """Run `module.main([INPUT, OUTPUT, --memory-mb N, --cpu-seconds N])` in a child of the warm server."""
    # The CPU cap can never fire before the timeout; it stops a child that outlives a
    # server killed mid-job.
    cpu_seconds = math.ceil(timeout_s * (os.cpu_count() or 1)) + 10
    argv = [input_path, output_path, "--memory-mb", str(memory_mb), "--cpu-seconds", str(cpu_seconds)]
    # One server per thread too: a job holds its server until the child is reaped.
    key = (module, threading.get_ident())
    server = _servers.get(key)
    if server is None or server.owner != os.getpid():
        server = _servers[key] = _Server(module)
    return server.run(argv, timeout_s)


def child_arguments(argv, *, prog, description, input_name, output_name, default_memory_mb):
    """The child side of run_child: parse its command line and put the limits on this process."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(input_name)
    parser.add_argument(output_name)
    parser.add_argument("--memory-mb", type=int, default=default_memory_mb)
    parser.add_argument("--cpu-seconds", type=int, default=resource.RLIM_INFINITY)
    args = parser.parse_args(argv)
    address_space = args.memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu_seconds, args.cpu_seconds))
    return args


class _Server:
    def __init__(self, module):
        self.module, self.owner, self.process = module, os.getpid(), None

    def run(self, argv, timeout_s):
        job = (json.dumps({"argv": argv, "timeout_s": timeout_s}) + "\n").encode()
        for attempt in (1, 2):
            if self.process is None or self.process.poll() is not None:
                self._start()
            try:
                self.process.stdin.write(job)
                self.process.stdin.flush()
                break
            except BrokenPipeError:  # died while idle: start another, once
                self.stop()
                if attempt == 2:
                    raise ForkServerLost(f"the fork server for {self.module} exits as soon as it starts") from None
        try:
            answer = self._answer(time.monotonic() + timeout_s + KILL_GRACE_S + SERVER_GRACE_S)
        except BaseException:  # e.g. Celery's soft time limit: take the child down with us
            self.stop()
            raise
        if not answer:
            code = self.stop()
            raise ForkServerLost(f"the fork server for {self.module} was lost mid-job (exit code {code})")
        return ChildOutcome(**json.loads(answer))

    def _start(self):
        # glibc reserves 64 MB of address space per thread arena, and OpenBLAS (loaded with
        # numpy) buffers per core: both would eat an RLIMIT_AS cap on a many-core machine
        # without using the memory. One BLAS thread also keeps the server single-threaded.
        env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        # Its own process group, so that stop() takes down a child it is running too.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "files.forkserver", self.module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True,
        )

    def _answer(self, deadline):
        stdout = self.process.stdout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b""
            readable, _, _ = select.select([stdout], [], [], min(remaining, 1.0))
            if readable:
                return stdout.readline()

    def stop(self):
        """Kill the server and any child it is running; returns the server's exit code."""
        if self.process is None:
            return None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self.process = None
        return code


_servers: dict[tuple[str, int], _Server] = {}


def _forget_inherited_servers():
    """A forked copy of this process (a Celery pool process) starts servers of its own."""
    for server in _servers.values():
        if server.process is not None:
            server.process.stdin.close()
            server.process.stdout.close()
    _servers.clear()


os.register_at_fork(after_in_child=_forget_inherited_servers)


# The server side.


def serve(module_name: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the worker; stdin closing ends this
    module = importlib.import_module(module_name)
    module.preload()
    if threading.active_count() > 1 or _native_threads() > 1:
        print(f"files.forkserver: {module_name} started threads; forking copies their locks", file=sys.stderr)
    jobs = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    # The children write to files of their own: fds 0 and 1 are no longer the protocol.
    with open(os.devnull, "rb") as devnull:
        os.dup2(devnull.fileno(), 0)
    os.dup2(2, 1)
    for line in jobs:
        job = json.loads(line)
        outcome = _fork_and_wait(module, job["argv"], job["timeout_s"], (jobs.fileno(), answers.fileno()))
        answers.write(json.dumps(asdict(outcome)).encode() + b"\n")
        answers.flush()
    return 0


def _native_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc: only Python's own threads can be counted
        return 1


def _fork_and_wait(module, argv, timeout_s, protocol_fds) -> ChildOutcome:
    with tempfile.TemporaryFile() as output:
        sys.stdout.flush()
        sys.stderr.flush()
        # The child starts with this process's address space, so its peak is at least that,
        # even if it dies before _wait_or_kill first looks (on a loaded machine, a child whose
        # cap is below that size can be gone before this process runs again).
        start_vm_mb = _vm_mb("self", "VmSize")
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(module, argv, output.fileno(), protocol_fds)
        status, rusage, peak_vm_mb, timed_out = _wait_or_kill(pid, started + timeout_s, start_vm_mb)
        seconds = time.monotonic() - started
        output.seek(max(0, output.seek(0, os.SEEK_END) - OUTPUT_TAIL_BYTES))
        lines = output.read().decode("utf-8", errors="replace").strip().splitlines()
    return ChildOutcome(
        exit_code=os.waitstatus_to_exitcode(status),
        timed_out=timed_out,
        seconds=round(seconds, 3),
        peak_rss_mb=round(rusage.ru_maxrss / 1024, 1),  # Linux reports KiB
        peak_vm_mb=peak_vm_mb,
        last_output_line=lines[-1][:200] if lines else "",
    )


def _child(module, argv, output_fd, protocol_fds):
    """In the forked child: run module.main(argv) as `python -m module` would, and never return."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for fd in protocol_fds:
            os.close(fd)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        code = module.main(argv)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001  whatever it was, the child must exit here, never return to serve()
        traceback.print_exc()
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)


def _wait_or_kill(pid: int, deadline: float, peak_vm_mb: float):
    """Reap the child (os.wait4, for its own rusage), killing it at the deadline.

    Returns (wait status, rusage, peak virtual memory seen in MB, at least peak_vm_mb, whether
    it timed out). Killing by pid is safe: the child is ours and not reaped yet.
    """
    delay, timed_out = 0.002, False
    while True:
        reaped, status, rusage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, rusage, peak_vm_mb, timed_out
        peak_vm_mb = max(peak_vm_mb, _vm_mb(pid, "VmPeak"))
        now = time.monotonic()
        if not timed_out and now >= deadline:
            timed_out = True
            os.kill(pid, signal.SIGTERM)
            deadline = now + KILL_GRACE_S
        elif timed_out and now >= deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = math.inf
        delay = min(delay * 2, POLL_MAX_S)
        time.sleep(delay)


def _vm_mb(pid, field: str) -> float:
    """A process's VmPeak or VmSize in MB (pid "self" for this one); 0 without /proc."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
