"""Two runs side by side: ratios compare directly, absolute figures through the calibration figure."""

from bench.compare import compared
from bench.harness import Figure, Target


def a_run(calibration, figures):
    return {"calibration_before": calibration, "calibration_after": calibration,
            "sections": [{"figures": [figure.as_json() for figure in figures]}]}


def upload(figure_rate):
    return Figure("Upload 50 MB, simple, local", "MB/s", [figure_rate] * 5, "minimal server", [100.0] * 5,
                  Target("ratio", ">=", 0.8))


def test_a_ratio_that_moved_more_than_ten_percent_is_flagged():
    rows = compared(a_run(700, [upload(90.0)]), a_run(700, [upload(75.0)]))
    assert rows == [("Upload 50 MB, simple, local", "ratio", "0.9", "0.75", "-17%", "beyond ±10%")]


def test_a_ratio_within_ten_percent_is_not():
    rows = compared(a_run(700, [upload(90.0)]), a_run(700, [upload(85.0)]))
    assert rows[0][-2:] == ("-6%", "")


def test_seconds_from_a_machine_half_as_fast_are_scaled_before_they_are_compared():
    first_frame = "First frame of the biggest model"
    rows = compared(a_run(800, [Figure(first_frame, "s", [2.0] * 5)]),
                    a_run(400, [Figure(first_frame, "s", [4.2] * 5)]))
    assert rows == [(first_frame, "s, B scaled to A's machine", "2", "2.1", "+5%", "")]


def test_memory_is_compared_as_measured():
    rows = compared(a_run(800, [Figure("Peak memory", "MB", [110.0])]), a_run(400, [Figure("Peak memory", "MB",
                                                                                             [130.0])]))
    assert rows == [("Peak memory", "MB", "110", "130", "+18%", "beyond ±10%")]
