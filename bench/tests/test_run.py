"""How long a run should take, said before it starts: from the last run of the same kind, or typical figures."""

import json
import os
import subprocess
import sys

from bench import run
from bench.harness import QUICK, ROOT, SAMPLES, TRANSFER_SAMPLES, Figure, Section, Target


def a_previous_run(samples, calibration, seconds, quick=QUICK):
    return {"date": "2026-12-01 03:00 UTC", "quick": quick, "samples": samples, "calibration_before": calibration,
            "sections": [{"name": name, "busy": {"seconds": value}, "exit_code": 0} for name, value in seconds.items()]}


def test_a_section_is_expected_to_take_as_long_as_last_time_scaled_by_samples_and_machine_speed():
    previous = a_previous_run(SAMPLES * 2, 800.0, {"listing": 600.0})
    [(name, seconds, source)] = run.estimate(["listing"], previous, calibration=400.0)
    assert (name, round(seconds), source) == ("listing", 600, "the run of 2026-12-01 03:00 UTC")


def test_the_transfers_are_scaled_by_their_own_sample_count_then_and_now():
    previous = a_previous_run(SAMPLES, 800.0, {"transfers": 600.0})
    previous["sections"][0]["setup"] = {"samples": TRANSFER_SAMPLES * 2}
    [(_, seconds, _)] = run.estimate(["transfers"], previous, calibration=800.0)
    assert round(seconds) == 300


def test_without_an_earlier_run_of_the_same_kind_the_typical_figure_is_used():
    previous = a_previous_run(SAMPLES, 800.0, {"transfers": 60.0}, quick=not QUICK)
    expected = run.estimate(["transfers", "broker"], previous, calibration=800.0)
    assert [source for _, _, source in expected] == ["typical", "typical"]
    assert expected[0][1] == run.TYPICAL_SECONDS["transfers"][QUICK] * TRANSFER_SAMPLES / (3 if QUICK else 5)


def test_a_section_that_failed_last_time_is_not_an_estimate():
    previous = a_previous_run(SAMPLES, 800.0, {"listing": 20.0})
    previous["sections"][0]["exit_code"] = 1
    assert run.estimate(["listing"], previous, calibration=800.0)[0][2] == "typical"


def test_every_section_has_a_typical_figure():
    assert set(run.TYPICAL_SECONDS) == set(run.SECTIONS)


def test_a_run_writes_one_report_with_its_duration_the_sections_left_out_and_the_soak_figures(tmp_path):
    soak = Section("soak", "Soak", ran={"commit": "fedcba987654 Soak", "date": "2026-11-29 08:00 UTC"})
    soak.figures = [Figure("Failed requests in the soak", "requests", [0.0], target=Target("figure", "<=", 0))]
    (tmp_path / "soak.json").write_text(json.dumps({**soak.__dict__, "figures": [figure.as_json() for figure in soak.figures]}))
    env = {**os.environ, "BENCH_SECTIONS": "hashing", "BENCH_HASHING_MB": "4", "BENCH_SAMPLES": "2",
           "BENCH_OUT": str(tmp_path / "out"), "BENCH_SOAK_RESULTS": str(tmp_path / "soak.json"),
           "BENCH_PAGE_REPORTING": "leave"}  # a test does not retune the machine it runs on
    env.pop("BENCH_QUICK", None)
    finished = subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "Expect about" in finished.stdout and "hashing took" in finished.stdout
    text = (tmp_path / "out" / "RESULTS.md").read_text()
    assert "**Part of a run** (BENCH_SECTIONS): transfers, listing, conversion, children, broker, viewer not run." in text
    assert "**2 samples per figure**" in text
    assert "| Free page reporting " in text
    assert "minutes for the sections (expected" in text
    assert "## Soak\n\nNot from this run: measured at fedcba987654 Soak, 2026-11-29 08:00 UTC." in text
    measured = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [section["name"] for section in measured["sections"]] == ["hashing", "soak"]
    assert len(measured["sections"][0]["figures"][0]["samples"]) == 2


def test_a_run_stopped_with_sigterm_restores_the_kernels_page_reporting(tmp_path):
    parameters = tmp_path / "page_reporting"
    parameters.mkdir()
    (parameters / "min_free_ms").write_text("0")
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from bench import machine, run\n"
        "machine.PAGE_REPORTING = Path(sys.argv[1]); run.stop_on_sigterm()\n"
        "with machine.FreedMemoryKept():\n    print('held', flush=True); time.sleep(60)\n"
    ), str(parameters)], cwd=ROOT, env={**os.environ, "BENCH_PAGE_REPORTING": ""}, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    assert (parameters / "min_free_ms").read_text() != "0"
    child.terminate()
    assert child.wait(timeout=30) == 128 + 15
    assert (parameters / "min_free_ms").read_text() == "0"
