"""make soak's figures, kept for `make bench` to show beside its own: one run per set-up."""

import json

from bench.harness import Section
from bench.soak import save_for_bench


def figures(database, errors, stuck=0):
    return {"seconds": 600, "users": 16, "database": database, "broker": "embedded SQLite", "storage": "local disk",
            "errors": errors, "conversions_stuck": stuck, "recovery_seconds": 12.5,
            "worker_rss_mb_start": {"worker": 300.0, "converters": 0.0},
            "worker_rss_mb_warm": {"worker": 320.0, "converters": 250.0},
            "worker_rss_mb_end": {"worker": 310.0, "converters": 250.0}}


def test_each_set_ups_latest_run_is_kept_and_its_targets_judged(tmp_path, monkeypatch):
    path = tmp_path / "soak.json"
    monkeypatch.setenv("BENCH_SOAK_RESULTS", str(path))

    save_for_bench(figures("SQLite", errors=3))
    save_for_bench(figures("PostgreSQL", errors=0))
    save_for_bench(figures("SQLite", errors=0))  # the embedded set-up again: replaces its first run

    section = Section.from_json(json.loads(path.read_text()))
    by_measure = {figure.measure: figure for figure in section.figures}
    assert len(section.setup) == 2 and len(section.figures) == 12
    failed = by_measure["requests that failed (SQLite, embedded SQLite, local disk)"]
    assert failed.samples == [0] and failed.verdict()[0] is True
    assert by_measure["a new file converted after the worker was killed (PostgreSQL, embedded SQLite, local disk)"].verdict()[0]
    assert by_measure["worker memory once warm (SQLite, embedded SQLite, local disk)"].samples == [320.0]
