"""STEP to GLB conversion, in a disposable child process.

Open CASCADE (through cascadio) can segfault, abort on heap corruption or run away with
memory, and while it works it holds the GIL and ignores Python signals. So each
conversion runs in a child process of its own under an address-space cap and a CPU cap,
killed at the wall-clock timeout. The child is forked from a warm server that has
already imported numpy and cascadio (files.forkserver, which explains the choice), so a
conversion no longer pays for an interpreter's start. Whatever happens to the child, the
caller gets a ConversionResult and carries on.

This is the only module that imports cascadio (which needs numpy, undeclared in cascadio
0.1.1): in preload(), in the fork server, and in step_to_glb(). The child side runs
`main(argv)`; `python -m files.converter IN.step OUT.glb [--memory-mb N] [--cpu-seconds N]`
does the same from a shell.
"""

import contextlib
import errno
import math
import os
import re
import signal
import sys
import tempfile
from dataclasses import dataclass

from files.forkserver import ChildOutcome, child_arguments, run_child
from files.glb import InvalidGlb, glb_mesh_facts

DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_MB = 2048
OUT_OF_MEMORY_SHARE = 0.9

EXIT_OK, EXIT_NO_OUTPUT, EXIT_OUT_OF_MEMORY, EXIT_SERVER_TROUBLE = 0, 3, 4, 5
# The server's trouble, not the file's: a conversion failing so is tried again.
SERVER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EMFILE, errno.ENFILE, errno.EAGAIN}

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
    # The server's trouble (a full or read-only disk, the kernel killing the child), not the
    # file's: worth trying again.
    transient: bool = False


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
        result.transient = _is_server_trouble(child)
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


def _partial_path(glb_path: str) -> str:
    fd, partial = tempfile.mkstemp(
        dir=os.path.dirname(os.path.abspath(glb_path)), prefix=".", suffix=".glb.part"
    )
    os.close(fd)
    return partial


def _is_server_trouble(child: ChildOutcome) -> bool:
    return not child.timed_out and child.exit_code in (EXIT_SERVER_TROUBLE, -signal.SIGKILL)


def _failure_reason(child: ChildOutcome, timeout_s: float, memory_mb: int) -> str:
    if child.timed_out:
        return f"timed out after {timeout_s:g} s"
    if child.exit_code == EXIT_OK:
        return ""
    if child.exit_code == EXIT_SERVER_TROUBLE:
        return f"the server could not write the converter's files: {child.last_output_line}"
    if child.exit_code == -signal.SIGKILL:  # not the timeout's kill: the kernel's (its out-of-memory killer)
        return "the converter was killed by the system (signal 9, likely its out-of-memory killer)"
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


def preload():
    """What the fork server imports before forking converters: all the time a cold child spent starting."""
    import cascadio  # noqa: F401
    import numpy  # noqa: F401


def step_to_glb(step: bytes) -> bytes:
    """The bare conversion, in this process: what the child does (and bench/bare.py, the benchmark's reference)."""
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
    except OSError as error:
        if error.errno in SERVER_ERRNOS:
            print(f"OSError: {error}", file=sys.stderr)
            return EXIT_SERVER_TROUBLE
        raise
    if not glb:
        return EXIT_NO_OUTPUT
    try:
        with open(args.glb_path, "wb") as glb_file:
            glb_file.write(glb)
    except OSError as error:
        if error.errno in SERVER_ERRNOS:
            print(f"OSError: {error}", file=sys.stderr)
            return EXIT_SERVER_TROUBLE
        raise
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
