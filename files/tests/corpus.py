"""The shared corpus of real and broken STEP files (shared/step), for the tests that need it.

It is found through PARTSITE_STEP_CORPUS, by default `../shared/step` beside the project.
Where it is absent (a fresh clone) the tests that use it skip and say why.
"""

import csv
import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    default = PROJECT_ROOT.parent / "shared" / "step"
    path = Path(os.environ.get("PARTSITE_STEP_CORPUS", default))
    if not (path / "MANIFEST.tsv").is_file():
        pytest.skip(f"STEP corpus not found at {path}: set PARTSITE_STEP_CORPUS")
    return path


def real_files() -> list[dict]:
    """MANIFEST.tsv rows (file, schema, triangles, expected, ...), each with its `path`."""
    return _rows("MANIFEST.tsv", "real")


def bad_files() -> list[dict]:
    """BAD.tsv rows (file, bytes, sha256, cascadio_outcome), each with its `path`."""
    return _rows("BAD.tsv", "bad")


def real_file(name: str) -> Path:
    return corpus_dir() / "real" / name


def bad_file(name: str) -> Path:
    return corpus_dir() / "bad" / name


def params(rows, marks=None) -> list:
    """One pytest param per row of `rows()`, named by file; one skipped param without a corpus.

    `marks` maps a file name to the marks its param gets, e.g. {"big.step": [pytest.mark.slow]}.
    """
    marks = marks or {}
    try:
        return [
            pytest.param(row, id=row["file"], marks=marks.get(row["file"], ())) for row in rows()
        ]
    except pytest.skip.Exception as absent:
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=absent.msg))]


def _rows(table: str, folder: str) -> list[dict]:
    directory = corpus_dir()
    with open(directory / table, newline="", encoding="utf-8") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    for row in rows:
        row["path"] = directory / folder / row["file"]
    return rows
