"""RESULTS.md as a reader meets it: what was run, how busy the machine was, what was met."""

import re

from bench.harness import Figure, Section, Target
from bench.report import render

QUIET = {"seconds": 5.0, "load_before": 0.1, "load_after": 0.2, "cores_busy": 0.05, "cores_busy_others": 0.05}
BUSY = {**QUIET, "load_before": 4.0, "cores_busy": 2.0, "cores_busy_others": 1.5}


def a_run(quick=False, idle_check=QUIET, section_busy=QUIET, exit_code=0):
    section = Section("transfers", "Uploads and downloads", setup={"local": {"storage": "local disk"}})
    section.figures = [
        Figure("Upload 50 MB, simple, local", "MB/s", [300, 310, 290, 305, 295], "minimal server PUT",
               [320, 330, 300, 310, 320], Target("ratio", ">=", 0.8)),
        Figure("Download 50 MB, local", "MB/s", [500, 510, 490, 505, 495], "minimal server GET",
               [900, 910, 890, 905, 895], Target("ratio", ">=", 0.8)),
    ]
    raw = {"name": "transfers", "title": "Uploads and downloads", "setup": section.setup,
           "figures": [figure.as_json() for figure in section.figures], "busy": section_busy,
           "exit_code": exit_code}
    return {
        "commit": "abc123def456 A change", "date": "2026-11-30 12:00 UTC",
        "machine": {"CPU": "AMD EPYC, 2 cores"}, "quick": quick, "samples": 5, "knobs": {"BENCH_STORAGE": "local"},
        "idle_check": idle_check, "calibration_before": 700.0, "calibration_after": 690.0, "sections": [raw],
    }


def test_it_is_stamped_with_the_commit_the_machine_and_its_calibration_figure():
    text = render(a_run())
    assert "abc123def456 A change" in text
    assert "AMD EPYC, 2 cores" in text
    assert "700 MB/s before the run, 690 MB/s after" in text
    assert "BENCH_STORAGE=local" in text


def test_it_says_plainly_which_targets_are_met_and_which_are_missed_and_by_how_much():
    text = render(a_run())
    assert "Targets met: 1 of 2. Missed: Download 50 MB, local (missed by 31% (0 of 5 samples meet it))." in text
    assert "| 300 (290–310) MB/s" in text
    assert "0.94 (0.92–0.98)" in text


def test_a_quiet_full_run_carries_no_warning():
    assert "> **" not in render(a_run())


def test_a_quick_run_says_it_is_not_for_comparison():
    assert "**Quick run** (BENCH_QUICK=1): fewer samples and smaller sizes. Not for comparison." in render(
        a_run(quick=True))


def test_a_busy_machine_is_called_out_with_the_load_of_each_stretch():
    text = render(a_run(section_busy=BUSY))
    assert "**The machine was busy**: other processes kept up to 1.5 cores busy" in text
    assert re.search(r"\| transfers +\| +5 \| 4\.0 → 0\.2 +\| +2\.00 \| +not measured \| +1\.50 \|", text)


def test_a_section_that_failed_is_reported_and_the_others_kept():
    text = render(a_run(exit_code=1))
    assert "**Sections that failed**: transfers" in text
    assert "Failed (exit code 1)" in text


def test_a_full_run_with_fewer_than_five_samples_says_it_is_not_for_comparison():
    run = {**a_run(), "samples": 3}
    assert "**3 samples per figure** (BENCH_SAMPLES): fewer than the 5" in render(run)


def test_part_of_a_run_names_the_sections_it_left_out():
    run = {**a_run(), "sections_not_run": ["listing", "viewer"]}
    assert "**Part of a run** (BENCH_SECTIONS): listing, viewer not run." in render(run)


def test_the_duration_is_shown_beside_the_estimate():
    run = {**a_run(), "seconds": 1500.0, "expected_seconds": {"transfers": 900.0, "listing": 420.0}}
    assert "| Duration | 25.0 minutes for the sections (expected 22.0)" in render(run).replace("  ", "")


def test_soak_figures_from_another_run_carry_that_runs_stamp_and_count_in_the_summary():
    soak = Section("soak", "Soak", ran={"commit": "fedcba987654 Soak", "date": "2026-11-29 08:00 UTC"})
    soak.figures = [Figure("Failed requests in a 30-minute soak", "requests", [0.0], target=Target("figure", "<=", 0))]
    run = a_run()
    run["sections"].append({"name": "soak", "title": "Soak", "ran": soak.ran,
                            "figures": [figure.as_json() for figure in soak.figures]})
    text = render(run)
    assert "## Soak\n\nNot from this run: measured at fedcba987654 Soak, 2026-11-29 08:00 UTC." in text
    assert "Targets met: 2 of 3." in text


def test_without_soak_figures_the_slot_says_where_they_come_from():
    run = a_run()
    run["sections"].append({"name": "soak", "title": "Soak", "skipped": "no soak figures at bench/soak.json"})
    assert "## Soak\n\nSkipped: no soak figures at bench/soak.json" in render(run)


def test_the_load_table_shows_the_shared_services_apart_and_they_do_not_make_the_machine_busy():
    driven = {**QUIET, "cores_busy": 1.4, "cores_busy_services": 0.9, "cores_busy_others": 0.05}

    text = render(a_run(section_busy=driven))

    assert re.search(r"\| transfers +\| +5 \| 0\.1 → 0\.2 +\| +1\.40 \| +0\.90 \| +0\.05 \|", text)
    assert "The machine was busy" not in text


def test_a_run_from_before_services_were_counted_apart_says_so():
    assert "not measured" in render(a_run())
