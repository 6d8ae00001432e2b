"""Bare cascadio in a child process forked from a warm server: the conversion's reference.

bench/conversion.py runs `convert` through multiprocessing's forkserver with this module
preloaded, so, like Partsite's converter child, each conversion is a fresh fork of a
process that has imported numpy and cascadio and has not yet run Open CASCADE. The child
does what Partsite's child does (files.converter.step_to_glb, the one module that imports
cascadio: the same tolerances) and writes the GLB; none of Partsite's queue, storage,
database or limits are in the way.
"""

import os

from files.converter import preload, step_to_glb

# Imported by the fork server before it forks, so that no child pays for the imports.
preload()


def convert(step_path, glb_path):
    # Open CASCADE's warnings go where Partsite's child sends them: not to the benchmark's terminal.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    with open(step_path, "rb") as step_file:
        glb = step_to_glb(step_file.read())
    if glb:
        with open(glb_path, "wb") as glb_file:
            glb_file.write(glb)
