"""How long a run should take, said before it starts: from the last run of the same kind, or typical figures."""

from bench import run
from bench.harness import QUICK, SAMPLES


def a_previous_run(samples, calibration, seconds, quick=QUICK):
    return {"date": "2026-12-01 03:00 UTC", "quick": quick, "samples": samples, "calibration_before": calibration,
            "sections": [{"name": name, "busy": {"seconds": value}, "exit_code": 0} for name, value in seconds.items()]}


def test_a_section_is_expected_to_take_as_long_as_last_time_scaled_by_samples_and_machine_speed():
    previous = a_previous_run(SAMPLES * 2, 800.0, {"transfers": 600.0})
    [(name, seconds, source)] = run.estimate(["transfers"], previous, calibration=400.0)
    assert (name, round(seconds), source) == ("transfers", 600, "the run of 2026-12-01 03:00 UTC")


def test_without_an_earlier_run_of_the_same_kind_the_typical_figure_is_used():
    previous = a_previous_run(SAMPLES, 800.0, {"transfers": 60.0}, quick=not QUICK)
    expected = run.estimate(["transfers", "broker"], previous, calibration=800.0)
    assert [source for _, _, source in expected] == ["typical", "typical"]
    assert expected[0][1] == run.TYPICAL_SECONDS["transfers"][QUICK] * SAMPLES / (3 if QUICK else 5)


def test_a_section_that_failed_last_time_is_not_an_estimate():
    previous = a_previous_run(SAMPLES, 800.0, {"listing": 20.0})
    previous["sections"][0]["exit_code"] = 1
    assert run.estimate(["listing"], previous, calibration=800.0)[0][2] == "typical"


def test_every_section_has_a_typical_figure():
    assert set(run.TYPICAL_SECONDS) == set(run.SECTIONS)
