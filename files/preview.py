"""A PNG preview of a converted model, drawn in a disposable child process.

No GPU and no display: files.glb reads the GLB, numpy projects it to an isometric view
(Z up, as the STEP file is) and shades each triangle by its angle to a light, and
matplotlib's Agg backend paints them back to front. Every piece installs from PyPI as a
wheel; OpenGL renderers (pyrender, VTK, trimesh's own) need the system's GL libraries.
(trimesh would read the GLB, but importing it takes 0.6 s, cascadio included.) The worker
draws it as a task of its own once the conversion is done, so the 3D model is ready first.

A big mesh is simplified first by vertex clustering: vertices closer than about a pixel
merge, and the triangles that collapse go, so the image looks the same and no more
triangles are painted than the image has room for. Like the converter, the child runs
under an address-space cap and a wall-clock timeout, so a model that would hang or
exhaust the worker only costs its preview. The child is forked from a warm server that has
imported numpy, matplotlib and Pillow (files.forkserver), which saves half its time.

The child side runs `main(argv)`; from a shell:
`python -m files.preview IN.glb OUT.png [--memory-mb N] [--cpu-seconds N]`.
"""

import contextlib
import os
import re
import signal
import sys
import tempfile
from dataclasses import dataclass

from files.forkserver import ChildOutcome, child_arguments, run_child
from files.glb import InvalidGlb, glb_triangles

DEFAULT_TIMEOUT_S = 30
DEFAULT_MEMORY_MB = 1024
OUT_OF_MEMORY_SHARE = 0.9
EXIT_OK, EXIT_NOTHING_TO_DRAW, EXIT_OUT_OF_MEMORY, EXIT_UNREADABLE = 0, 3, 4, 5

WIDTH_PX, HEIGHT_PX = 480, 360
MARGIN_SHARE = 0.06  # of each side, around the model
# Drawn twice as large, then shrunk: Agg's polygons without antialiasing leave no seams
# between neighbours, and shrinking smooths the outline.
SUPERSAMPLE = 2
BACKGROUND = (0.965, 0.965, 0.955)
PART_COLOUR = (0.33, 0.56, 0.78)
VIEW_FROM = (1.0, -1.0, 1.0)  # isometric: the top, front (-y) and right (+x) sides show
LIGHT_FROM = (0.25, -0.5, 0.85)  # top brightest, then front, then right
AMBIENT = 0.35
# Above this many triangles the mesh is clustered to about a pixel; never more are painted.
CLUSTER_ABOVE_TRIANGLES = 20_000
MAX_PAINTED_TRIANGLES = 150_000

NOTHING_TO_DRAW = "the model has no triangles to draw"
OUT_OF_MEMORY_OUTPUT = re.compile(r"memory allocation|cannot allocate memory|MemoryError", re.IGNORECASE)


@dataclass
class PreviewResult:
    ok: bool
    error: str = ""
    seconds: float = 0.0
    peak_rss_mb: float | None = None


def render_preview(
    glb_path: str, png_path: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, memory_mb: int = DEFAULT_MEMORY_MB
) -> PreviewResult:
    """Draw the preview, leaving a PNG at png_path only on success (written beside it, then renamed)."""
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(png_path)), prefix=".", suffix=".png.part")
    os.close(fd)
    try:
        child = run_child("files.preview", os.path.abspath(glb_path), partial, timeout_s, memory_mb)
        result = PreviewResult(ok=False, seconds=child.seconds, peak_rss_mb=child.peak_rss_mb)
        result.error = _failure_reason(child, timeout_s, memory_mb)
        if not result.error:
            os.replace(partial, png_path)
            result.ok = True
        return result
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def _failure_reason(child: ChildOutcome, timeout_s: float, memory_mb: int) -> str:
    if child.timed_out:
        return f"drawing it timed out after {timeout_s:g} s"
    if child.exit_code == EXIT_OK:
        return ""
    # Under the cap, native libraries can fail before Python sees a MemoryError (OpenBLAS
    # exits on its own, saying so), or while the address space is still below it.
    if (
        child.exit_code == EXIT_OUT_OF_MEMORY
        or child.peak_vm_mb >= OUT_OF_MEMORY_SHARE * memory_mb
        or OUT_OF_MEMORY_OUTPUT.search(child.last_output_line)
    ):
        return f"drawing it ran out of memory (limit {memory_mb} MB)"
    if child.exit_code == EXIT_NOTHING_TO_DRAW:
        return NOTHING_TO_DRAW
    if child.exit_code == EXIT_UNREADABLE:
        return f"the 3D model could not be read: {child.last_output_line}"
    if child.exit_code < 0:
        number = -child.exit_code
        return f"the renderer crashed ({(signal.strsignal(number) or 'unknown signal').lower()}, signal {number})"
    return f"the renderer failed (exit code {child.exit_code}): {child.last_output_line}"


# The child side. numpy and matplotlib load here only (and in the fork server), so the worker stays small.


def preload():
    """What the fork server imports before forking previews."""
    import numpy  # noqa: F401
    from matplotlib import collections, figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401
    from PIL import Image, PngImagePlugin  # noqa: F401


def isometric_axes():
    """Unit vectors (right, up, towards the viewer) of the isometric camera, Z up."""
    import numpy as np

    towards_viewer = np.array(VIEW_FROM) / np.linalg.norm(VIEW_FROM)
    right = np.cross((0.0, 0.0, 1.0), towards_viewer)
    right /= np.linalg.norm(right)
    return right, np.cross(towards_viewer, right), towards_viewer


def cluster_vertices(vertices, faces, cell):
    """Merge the vertices in each cube of side `cell` to their mean; drop the triangles that collapse."""
    import numpy as np

    cells = np.floor((vertices - vertices.min(axis=0)) / cell).astype(np.int64)
    extent = cells.max(axis=0) + 1
    # One integer per cube: sorting those is many times faster than sorting rows.
    keys = (cells[:, 0] * extent[1] + cells[:, 1]) * extent[2] + cells[:, 2]
    _, merged = np.unique(keys, return_inverse=True)
    counts = np.bincount(merged)
    clustered = np.zeros((counts.size, 3))
    np.add.at(clustered, merged, vertices)
    clustered /= counts[:, None]
    faces = merged[faces]
    whole = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return clustered, faces[whole]


def draw(glb_path, png_path) -> int:
    """Paint the preview; returns how many triangles were painted (0: nothing was written)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from PIL import Image

    vertices, faces = glb_triangles(glb_path)
    if not len(faces):
        return 0
    vertices = vertices - (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    right, up, towards_viewer = isometric_axes()
    x, y = vertices @ right, vertices @ up
    width, height = WIDTH_PX * SUPERSAMPLE, HEIGHT_PX * SUPERSAMPLE
    # Model units per pixel once the projected box is fitted inside the margins.
    span = max((x.max() - x.min()) / width, (y.max() - y.min()) / height) / (1 - 2 * MARGIN_SHARE)
    if span <= 0:
        return 0
    if len(faces) > CLUSTER_ABOVE_TRIANGLES:
        cell = span * SUPERSAMPLE
        vertices, faces = cluster_vertices(vertices, faces, cell)
        while len(faces) > MAX_PAINTED_TRIANGLES:
            cell *= 2
            vertices, faces = cluster_vertices(vertices, faces, cell)
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    kept = lengths > 0
    corners, normals = corners[kept], normals[kept] / lengths[kept, None]
    if not len(corners):
        return 0
    # Facing the viewer either way: CAD meshes do not always wind their triangles consistently.
    normals *= np.where(normals @ towards_viewer < 0, -1.0, 1.0)[:, None]
    light = np.array(LIGHT_FROM) / np.linalg.norm(LIGHT_FROM)
    brightness = AMBIENT + (1 - AMBIENT) * np.clip(normals @ light, 0.0, 1.0)
    colours = np.clip(brightness[:, None] * np.array(PART_COLOUR), 0.0, 1.0)
    back_to_front = np.argsort((corners @ towards_viewer).mean(axis=1))
    outlines = np.stack([corners @ right, corners @ up], axis=-1)[back_to_front]
    colours = colours[back_to_front]

    figure = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=BACKGROUND)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    centre_x, centre_y = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    axes.set_xlim(centre_x - span * width / 2, centre_x + span * width / 2)
    axes.set_ylim(centre_y - span * height / 2, centre_y + span * height / 2)
    # Edges in the face colour close the hairline gaps between neighbours.
    painted = PolyCollection(outlines, facecolors=colours, edgecolors=colours, linewidths=0.4, antialiaseds=False)
    axes.add_collection(painted, autolim=False)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    image.resize((WIDTH_PX, HEIGHT_PX), Image.Resampling.LANCZOS).save(png_path, format="PNG")
    return len(corners)


def main(argv=None) -> int:
    args = child_arguments(
        argv, prog="python -m files.preview",
        description="Draw a PNG preview of one GLB; the child side of render_preview.",
        input_name="glb_path", output_name="png_path", default_memory_mb=DEFAULT_MEMORY_MB,
    )
    try:
        painted = draw(args.glb_path, args.png_path)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    except ImportError as error:
        # Under a tight cap, mapping the native libraries is the first thing to fail.
        if "failed to map segment" in str(error) or "annot allocate memory" in str(error):
            return EXIT_OUT_OF_MEMORY
        raise
    except (InvalidGlb, OSError) as unreadable:
        print(str(unreadable)[:200], flush=True)
        return EXIT_UNREADABLE
    return EXIT_OK if painted else EXIT_NOTHING_TO_DRAW


if __name__ == "__main__":
    sys.exit(main())
