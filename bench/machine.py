"""What a run ran on and how busy the machine was: the stamp at the top of RESULTS.md.

The calibration figure is SHA-256 through hashlib on one core, in MB/s: pure CPU work with
no I/O, so the ratio of two machines' calibration figures scales their absolute figures
(a machine with half the calibration figure should move about half the MB/s, and take
about twice the seconds, for the same code). It is taken before and after the run; a
large difference between the two says the machine's speed changed during the run.
"""

import ctypes
import datetime
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from contextlib import suppress
from pathlib import Path

from bench.harness import ROOT

CALIBRATION_BYTES = 64 * 2**20


def calibrate(samples=5):
    """Median MB/s of hashlib's SHA-256 over 64 MiB in memory, on one core."""
    data = os.urandom(CALIBRATION_BYTES)
    rates = []
    for _ in range(samples):
        started = time.perf_counter()
        hashlib.sha256(data).digest()
        rates.append(CALIBRATION_BYTES / 2**20 / (time.perf_counter() - started))
    return statistics.median(rates)


def _run(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _proc_field(path, name):
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), None)


def commit():
    head = _run("git", "rev-parse", "--short=12", "HEAD") or "unknown (not a git checkout)"
    subject = _run("git", "log", "-1", "--format=%s")
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return f"{head} {subject}" + (" (with uncommitted changes)" if dirty else "")


def stamp():
    """The commit and the date (UTC) of a run, as RESULTS.md shows them."""
    return {"commit": commit(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def file_system(folder):
    """`tmpfs at /dev/shm`: the kind of file system a folder is on, and where it is mounted (findmnt)."""
    # A folder mounted over more than once is listed once a mount; the first line is enough.
    found = (_run("findmnt", "-n", "-o", "FSTYPE,TARGET", "--target", str(folder)).splitlines() or [""])[0].split()
    return f"{found[0]} at {found[1]}" if len(found) == 2 else f"a file system at {folder}"


def describe():
    """The machine and the software, as (label, value) rows."""
    cpu = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"
    memory_kb = int((_proc_field("/proc/meminfo", "MemTotal") or "0").split()[0])
    disk = shutil.disk_usage(ROOT)
    device = _run("findmnt", "-n", "-o", "SOURCE", "--target", str(ROOT)).rsplit("/", 1)[-1]
    kind = ""
    rotational = Path(f"/sys/block/{device}/queue/rotational")
    if device and rotational.exists():
        kind = {"0": "SSD", "1": "reported rotational"}.get(rotational.read_text().strip(), "")
    import django

    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": f"{memory_kb / 2**20:.1f} GiB",
        "Disk": f"{device or 'unknown'}, {disk.total / 2**30:.0f} GiB, {kind or 'type unknown'}",
        "OS": f"{platform.system()} {platform.release()}",
        "Software": f"Python {platform.python_version()}, Django {django.get_version()}",
    }


PAGE_REPORTING = Path("/sys/module/page_reporting/parameters")
KEEP_FREED_MS = 300_000  # min_free_ms for a run: a page freed less than 5 minutes ago stays (about the most it takes)
LARGEST_ORDER = "10"  # page_reporting_order's highest value on x86-64: only free 4 MiB blocks are given back


class FreedMemoryKept:
    """For the run, a virtual machine keeps the memory it frees instead of giving it back to its host.

    A kernel with free page reporting (virtio-balloon) hands free memory back to the host soon
    after it is freed; the next write into it then waits for the host to supply each page
    again. A benchmark frees hundreds of MB between samples (the previous sample's files): on
    a machine reporting 2 MiB blocks with no delay, writing 1.5 GB into tmpfs ran 840-2,500
    MB/s from one pass to the next, and 2,800-3,300 with reporting held off. Held off, the
    transfers' figures measure the code, not the host's memory handling.

    With the kernel's min_free_ms (a delay before a free page is reported, on kernels that have
    it) the run sets it to 5 minutes; otherwise it raises page_reporting_order to the largest
    block. The values are restored afterwards. BENCH_PAGE_REPORTING=leave leaves them as they
    are; without root they are left too. `words` says what was done, for RESULTS.md.
    """

    def __init__(self, parameters=None):
        self.parameters = Path(parameters or PAGE_REPORTING)
        self.restore = {}
        self.words = ""

    def __enter__(self):
        if not self.parameters.is_dir():
            self.words = "none (the kernel does not report free pages to a host)"
            return self
        current = {name: self._read(name) for name in ("min_free_ms", "page_reporting_order")}
        as_is = ", ".join(f"{name} {value}" for name, value in current.items() if value is not None)
        if os.environ.get("BENCH_PAGE_REPORTING", "").strip().lower() == "leave":
            self.words = f"on, left as it is (BENCH_PAGE_REPORTING=leave): {as_is}"
            return self
        name, value = (("min_free_ms", str(KEEP_FREED_MS)) if current["min_free_ms"] is not None
                       else ("page_reporting_order", LARGEST_ORDER))
        try:
            (self.parameters / name).write_text(value)
        except OSError as error:
            self.words = f"on, left as it is ({as_is}): could not change {name} ({error.strerror})"
            return self
        self.restore[name] = current[name]
        self.words = f"held off for the run: {name} {current[name]} → {value}, restored after"
        return self

    def __exit__(self, *exc):
        for name, value in self.restore.items():
            with suppress(OSError):
                (self.parameters / name).write_text(value)

    def _read(self, name):
        try:
            return (self.parameters / name).read_text().strip()
        except OSError:
            return None


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans():
    """Make this process the one that inherits its descendants' orphans (Linux's child subreaper).

    A section's servers start processes that outlive their parents (the converter's fork
    server, Chromium's helpers); adopted and reaped here, their CPU time counts as the
    benchmark's own instead of as other processes'.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans' time then counts as others'
        pass


def reap_orphans(seconds=10):
    """Wait (a while at most) for the adopted orphans to end, so that their CPU time is counted."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            time.sleep(0.1)


class Busy:
    """The machine's load average and CPU use over a stretch of time, and how much of it was not ours.

    Ours is the CPU time of this process's children that have ended and been waited for:
    a section's process and everything it started, orphans included (adopt_orphans). The
    shared services a section drives (SHARED_SERVICES: PostgreSQL, Redis) are counted apart:
    serving the listing's queries kept PostgreSQL at 0.9 cores, which is the benchmark's work,
    not a busy machine. The rest of the machine's busy time went to other processes.
    """

    def __init__(self):
        self.load_before = os.getloadavg()[0]
        self.busy_before = _busy_seconds()
        self.ours_before = _children_cpu()
        self.services_before = _services_cpu()
        self.started = time.monotonic()

    def end(self):
        seconds = time.monotonic() - self.started
        busy = _busy_seconds() - self.busy_before
        ours = _children_cpu() - self.ours_before
        services = max(0.0, _services_cpu() - self.services_before)
        return {
            "seconds": seconds,
            "load_before": self.load_before,
            "load_after": os.getloadavg()[0],
            "cores_busy": busy / seconds if seconds else 0.0,
            "cores_busy_services": services / seconds if seconds else 0.0,
            "cores_busy_others": max(0.0, busy - ours - services) / seconds if seconds else 0.0,
        }


def _busy_seconds():
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    # Guest time is already counted in user time.
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# The shared services the sections drive, by process name: their CPU time is the benchmark's doing.
SHARED_SERVICES = ("postgres", "redis-server")


def _services_cpu():
    """CPU seconds of every process named in SHARED_SERVICES, with what their ended children took
    (PostgreSQL's backends, once reaped, count in the postmaster's children's time)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(") ", 1)
        except (OSError, IndexError, ValueError):
            continue
        if name in SHARED_SERVICES:
            values = fields.split()
            total += sum(int(value) for value in values[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
