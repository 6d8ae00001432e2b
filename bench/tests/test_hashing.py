"""bench/hashing.py, run as make bench runs it, on a little data."""

import json
import os
import subprocess
import sys

from bench.harness import ROOT


def test_it_measures_the_handler_beside_its_reference_and_leaves_no_temporary_folder_behind(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "BENCH_RUN_DIR": str(tmp_path / "run"), "BENCH_HASHING_MB": "4",
           "BENCH_SAMPLES": "2"}
    env.pop("PARTSITE_DATA_DIR", None)
    subprocess.run([sys.executable, "-m", "bench.hashing"], cwd=ROOT, env=env, check=True, capture_output=True)
    measured = json.loads((tmp_path / "run" / "hashing.json").read_text())
    figure = measured["figures"][0]
    assert len(figure["samples"]) == len(figure["reference_samples"]) == 2
    assert list(scratch.iterdir()) == []
