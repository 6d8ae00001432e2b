"""STEP to GLB conversion, in a disposable child process.

Open CASCADE (through cascadio) can segfault, abort on heap corruption or run away with
memory, and while it works it holds the GIL and ignores Python signals. So each
conversion runs in a fresh interpreter started with subprocess (it works from a daemonic
Celery prefork worker, where multiprocessing may not start children) under an address-space
cap, and the parent enforces the wall-clock timeout and kills it. Whatever happens to the
child, the caller gets a ConversionResult and carries on.

This is the only module that imports cascadio (which needs numpy, undeclared in cascadio
0.1.1), and only in the child:
`python -m files.converter IN.step OUT.glb [--memory-mb N] [--cpu-seconds N]`.
"""

import argparse
import contextlib
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from files.glb import InvalidGlb, glb_mesh_facts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_MB = 2048
MIB = 1024 * 1024
KILL_GRACE_S = 1.0
POLL_MAX_S = 0.05
OUT_OF_MEMORY_SHARE = 0.9

EXIT_OK, EXIT_NO_OUTPUT, EXIT_OUT_OF_MEMORY = 0, 3, 4

NO_TRIANGLES = (
    "the model has no triangles (no solid geometry: an analysis model, "
    "or an assembly whose parts are in other files)"
)
# Meshing tolerance. cascadio's default absolute tol_linear=0.01 mm gives the meshes in
# shared/step/MANIFEST.tsv for every real model up to 1 m across, but the triangle count
# follows tolerance / model size, so on occt_as1_motor.step (modelled ~1000x too large,
# 300 m) it ran past 120 s and 6.5 GB. tol_relative=True (relative to each edge's length)
# tames that file but meshes everything else 2-20x coarser than the manifest (the M6 screw:
# 2.9k triangles instead of 9.4k). So the tolerance stays absolute and grows with the model:
# 0.01 mm, or 1e-5 of the model's diagonal past 1 m (the motor: 2 mm, ~300k triangles).
BASE_TOLERANCE_MM = 0.01
TOLERANCE_SHARE_OF_MODEL = 1e-5
TOL_ANGULAR_RAD = 0.5  # cascadio's default
# Open CASCADE refuses a UTF-8 byte order mark that the upload check lets through.
UTF8_BOM = b"\xef\xbb\xbf"

CARTESIAN_POINT = re.compile(rb"CARTESIAN_POINT\s*\(\s*'(?:[^']|'')*'\s*,\s*\(([^()]*)\)", re.I)
UNIT_CONTEXT = re.compile(rb"GLOBAL_UNIT_ASSIGNED_CONTEXT\s*\(\s*\(([^()]*)\)", re.I)
LENGTH_UNIT = re.compile(rb"(?<![A-Z_])LENGTH_UNIT\s*\(", re.I)
SI_LENGTH = re.compile(rb"SI_UNIT\s*\(\s*(\$|\.\w+\.)\s*,\s*\.METRE\.", re.I)
NAMED_LENGTH = re.compile(rb"CONVERSION_BASED_UNIT\s*\(\s*'([^']*)'", re.I)
MM_PER_SI_PREFIX = {b"$": 1000.0, b".KILO.": 1e6, b".CENTI.": 10.0, b".DECI.": 100.0,
                    b".MILLI.": 1.0, b".MICRO.": 1e-3, b".NANO.": 1e-6}
MM_PER_NAMED_UNIT = {b"INCH": 25.4, b"FOOT": 304.8, b"MILLIMETRE": 1.0, b"MILLIMETER": 1.0,
                     b"CENTIMETRE": 10.0, b"CENTIMETER": 10.0, b"METRE": 1000.0, b"METER": 1000.0}


@dataclass
class ConversionResult:
    ok: bool
    error: str = ""
    triangles: int = 0
    bbox_mm: tuple[float, float, float] | None = None
    seconds: float = 0.0
    peak_rss_mb: float | None = None


def convert_step_to_glb(
    step_path: str,
    glb_path: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> ConversionResult:
    """Convert, leaving a GLB at glb_path only on success (written beside it, then renamed)."""
    partial = _partial_path(glb_path)
    try:
        child = run_child("files.converter", os.path.abspath(step_path), partial, timeout_s, memory_mb)
        result = ConversionResult(ok=False, seconds=child.seconds, peak_rss_mb=child.peak_rss_mb)
        result.error = _failure_reason(child, timeout_s, memory_mb)
        if result.error:
            return result
        try:
            result.triangles, result.bbox_mm = glb_mesh_facts(partial)
        except (OSError, InvalidGlb) as error:
            result.error = f"converter produced an unreadable GLB ({error})"
            return result
        if not result.triangles:
            result.error = NO_TRIANGLES
            return result
        os.replace(partial, glb_path)
        result.ok = True
        return result
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


@dataclass
class ChildOutcome:
    exit_code: int  # negative: killed by that signal, as in subprocess
    timed_out: bool
    seconds: float
    peak_rss_mb: float
    peak_vm_mb: float
    last_output_line: str


def _partial_path(glb_path: str) -> str:
    fd, partial = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(glb_path)), prefix=".", suffix=".glb.part"
    )
    os.close(fd)
    return partial


def run_child(module: str, input_path: str, output_path: str, timeout_s: float, memory_mb: int) -> ChildOutcome:
    """Run `python -m module INPUT OUTPUT --memory-mb N --cpu-seconds N` under these limits (the preview uses it too)."""
    # The CPU cap can never fire before the parent's timeout; it stops a child that
    # outlives a parent killed mid-conversion.
    cpu_seconds = math.ceil(timeout_s * (os.cpu_count() or 1)) + 10
    command = [sys.executable, "-m", module, input_path, output_path,
               "--memory-mb", str(memory_mb), "--cpu-seconds", str(cpu_seconds)]
    # glibc reserves 64 MB of address space per thread arena, and OpenBLAS (loaded with
    # numpy, which cascadio imports) buffers per core: both would eat an RLIMIT_AS cap
    # on a many-core machine without using the memory.
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as output:
        started = time.monotonic()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, env=env)
        try:
            status, rusage, peak_vm_mb, timed_out = _wait_or_kill(child, started + timeout_s)
        except BaseException:  # e.g. Celery's soft time limit: take the child down with us
            child.kill()
            child.wait()
            raise
        seconds = time.monotonic() - started
        output.seek(max(0, output.seek(0, os.SEEK_END) - 4096))
        lines = output.read().decode("utf-8", errors="replace").strip().splitlines()
    return ChildOutcome(
        exit_code=os.waitstatus_to_exitcode(status),
        timed_out=timed_out,
        seconds=round(seconds, 3),
        peak_rss_mb=round(rusage.ru_maxrss / 1024, 1),  # Linux reports KiB
        peak_vm_mb=peak_vm_mb,
        last_output_line=lines[-1][:200] if lines else "",
    )


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


def _wait_or_kill(child: subprocess.Popen, deadline: float):
    """Reap the child (os.wait4, for its own rusage), killing it at the deadline.

    Returns (wait status, rusage, peak virtual memory seen in MB, whether it timed out).
    """
    peak_vm_mb, delay, timed_out = 0.0, 0.005, False
    while True:
        pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage, peak_vm_mb, timed_out
        peak_vm_mb = max(peak_vm_mb, _peak_vm_mb(child.pid))
        now = time.monotonic()
        if not timed_out and now >= deadline:
            timed_out = True
            child.terminate()
            deadline = now + KILL_GRACE_S
        elif timed_out and now >= deadline:
            child.kill()
            deadline = math.inf
        delay = min(delay * 2, POLL_MAX_S)
        time.sleep(delay)


def _peak_vm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmPeak:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _failure_reason(child: ChildOutcome, timeout_s: float, memory_mb: int) -> str:
    if child.timed_out:
        return f"timed out after {timeout_s:g} s"
    if child.exit_code == EXIT_OK:
        return ""
    # Past the cap, Open CASCADE and glibc fail every which way: MemoryError, SIGSEGV on
    # an unchecked allocation, SIGABRT, or exit 127 ("cannot allocate memory for
    # thread-local data"). A failure close to the cap is taken to be the cap's doing.
    near_the_cap = child.peak_vm_mb >= OUT_OF_MEMORY_SHARE * memory_mb
    if child.exit_code == EXIT_OUT_OF_MEMORY or near_the_cap:
        return f"ran out of memory (limit {memory_mb} MB)"
    if child.exit_code == EXIT_NO_OUTPUT:
        return "converter produced no output"
    if child.exit_code < 0:
        number = -child.exit_code
        if number == signal.SIGABRT:
            return f"converter aborted (signal {number})"
        description = (signal.strsignal(number) or "unknown signal").lower()
        return f"converter crashed ({description}, signal {number})"
    return f"converter failed (exit code {child.exit_code}): {child.last_output_line}"


def linear_tolerance_mm(step: bytes) -> float:
    return max(BASE_TOLERANCE_MM, model_size_mm(step) * TOLERANCE_SHARE_OF_MODEL)


def model_size_mm(step: bytes) -> float:
    """Estimate the model's diagonal from its CARTESIAN_POINTs, before Open CASCADE reads it.

    The box spans the 1st to 99th percentile of each coordinate, so a few far-off points
    (PMI annotation planes, placements) do not count; on the real corpus it comes within
    30% of the converted mesh's box. Lengths are in the file's length unit; with several,
    the largest wins, which errs towards a coarser mesh rather than a runaway one.
    """
    axes = ([], [], [])
    for match in CARTESIAN_POINT.finditer(step):
        try:
            coordinates = [float(value) for value in match[1].split(b",")]
        except ValueError:
            continue
        if len(coordinates) == 3 and all(map(math.isfinite, coordinates)):
            for axis, value in zip(axes, coordinates):
                axis.append(value)
    if not axes[0]:
        return 0.0
    squares = 0.0
    for values in axes:
        values.sort()
        trim = len(values) // 100
        squares += (values[-1 - trim] - values[trim]) ** 2
    return math.sqrt(squares) * _mm_per_length_unit(step)


def _mm_per_length_unit(step: bytes) -> float:
    """Millimetres per length unit of the representation contexts (the largest, if several)."""
    unit_ids = {
        unit_id
        for context in UNIT_CONTEXT.finditer(step)
        for unit_id in re.findall(rb"#(\d+)", context[1])
    }
    factors = []
    for unit_id in unit_ids:
        record = re.search(rb"#" + unit_id + rb"\s*=([^;]*)", step)
        if not record or not LENGTH_UNIT.search(record[1]):
            continue
        if si := SI_LENGTH.search(record[1]):
            factors.append(MM_PER_SI_PREFIX.get(si[1].upper(), 1.0))
        elif named := NAMED_LENGTH.search(record[1]):
            factors.append(MM_PER_NAMED_UNIT.get(named[1].strip().upper(), 1.0))
    return max(factors, default=1.0)


def step_to_glb(step: bytes) -> bytes:
    """The bare conversion, in this process: what the child does (bench/conversion.py times it)."""
    step = step.removeprefix(UTF8_BOM)
    import cascadio

    return cascadio.load(
        step,
        file_type="step",
        tol_linear=linear_tolerance_mm(step),
        tol_angular=TOL_ANGULAR_RAD,
        tol_relative=False,
    )


def main(argv=None) -> int:
    args = child_arguments(
        argv, prog="python -m files.converter",
        description="Convert one STEP file to GLB; the child side of convert_step_to_glb.",
        input_name="step_path", output_name="glb_path", default_memory_mb=DEFAULT_MEMORY_MB,
    )
    try:
        with open(args.step_path, "rb") as step_file:
            glb = step_to_glb(step_file.read())
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    except ImportError as error:
        # Under a tight cap, mapping the native libraries is the first thing to fail.
        if "failed to map segment" in str(error) or "annot allocate memory" in str(error):
            return EXIT_OUT_OF_MEMORY
        raise
    if not glb:
        return EXIT_NO_OUTPUT
    with open(args.glb_path, "wb") as glb_file:
        glb_file.write(glb)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
