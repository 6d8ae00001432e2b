"""Two runs side by side: ratios compare directly, absolute figures through the calibration figure, and
the exit code says whether every ratio agrees within ±10%."""

import json

from bench.compare import compared, main
from bench.harness import Figure, Target


def a_run(calibration, figures, **stamp):
    return {"commit": "abc123 A change", "date": "2026-12-01 03:00 UTC", "quick": False,
            "calibration_before": calibration, "calibration_after": calibration,
            "sections": [{"figures": [figure.as_json() for figure in figures]}], **stamp}


def upload(figure_rate, measure="Upload 50 MB, simple, local"):
    return Figure(measure, "MB/s", [figure_rate] * 5, "minimal server", [100.0] * 5, Target("ratio", ">=", 0.8))


def written(tmp_path, name, run):
    path = tmp_path / name / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(run))
    return str(path)


def test_a_ratio_that_moved_more_than_ten_percent_does_not_agree():
    rows = compared(a_run(700, [upload(90.0)]), a_run(700, [upload(75.0)]))
    assert rows == [("Upload 50 MB, simple, local", "ratio", "0.9", "0.75", "0.83", "NO", True, "0.9", "0.75")]


def test_a_ratio_within_ten_percent_agrees():
    rows = compared(a_run(700, [upload(90.0)]), a_run(700, [upload(85.0)]))
    assert (rows[0].b_over_a, rows[0].agreement, rows[0].counted) == ("0.94", "yes", True)


def test_seconds_from_a_machine_half_as_fast_are_scaled_before_they_are_compared():
    first_frame = "First frame of the biggest model"
    rows = compared(a_run(800, [Figure(first_frame, "s", [2.0] * 5)]),
                    a_run(400, [Figure(first_frame, "s", [4.2] * 5)]))
    assert rows == [(first_frame, "s, B scaled to A's machine", "2", "2.1", "1.05", "yes", False, "2", "2.1")]


def test_memory_and_counts_are_compared_as_measured():
    rows = compared(
        a_run(800, [Figure("Peak memory", "MB", [110.0]), Figure("Messages lost", "messages", [0, 0, 0])]),
        a_run(400, [Figure("Peak memory", "MB", [130.0]), Figure("Messages lost", "messages", [0, 0, 0])]),
    )
    assert rows == [("Peak memory", "MB", "110", "130", "1.18", "NO", False, "110", "130"),
                    ("Messages lost", "messages", "0", "0", "-", "yes", False, "0", "0")]


def test_a_figure_in_one_run_only_is_shown_as_such():
    rows = compared(a_run(700, [upload(90.0)]), a_run(700, [upload(90.0), upload(95.0, "Download 50 MB, local")]))
    assert rows[1] == ("Download 50 MB, local", "ratio", "-", "0.95", "-", "only in B", True, "-", "0.95")


def test_each_run_shows_the_range_of_its_per_sample_ratios_beside_the_medians(tmp_path, capsys):
    steady = Figure("Upload 200 MB, direct, s3", "MB/s", [70.0, 72.0, 71.0, 69.0, 73.0], "boto3",
                    [100.0] * 5, Target("ratio", ">=", 0.8))
    swinging = Figure("Upload 200 MB, direct, s3", "MB/s", [55.0, 93.0, 60.0, 80.0, 62.0], "boto3",
                      [100.0] * 5, Target("ratio", ">=", 0.8))
    [row] = compared(a_run(700, [steady]), a_run(700, [swinging]))
    assert (row.a, row.range_a, row.b, row.range_b, row.agreement) == ("0.71", "0.69–0.73", "0.62", "0.55–0.93", "NO")
    assert main([written(tmp_path, "a", a_run(700, [steady])), written(tmp_path, "b", a_run(700, [swinging]))]) == 1
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| Upload")]
    assert [cell.strip() for cell in line.split("|")[3:-1]] == ["0.71", "0.62", "0.87", "NO", "0.69–0.73", "0.55–0.93"]


def test_two_runs_whose_ratios_agree_exit_zero_and_print_both_values(tmp_path, capsys):
    first = written(tmp_path, "a", a_run(700, [upload(90.0)]))
    second = written(tmp_path, "b", a_run(650, [upload(93.0)]))
    assert main([first, second]) == 0
    printed = capsys.readouterr().out
    assert "| Upload 50 MB, simple, local | ratio    | 0.9 | 0.93 | 1.03 | yes" in printed
    assert "1 of 1 ratios agree within ±10%." in printed


def test_a_ratio_apart_exits_nonzero_and_is_named(tmp_path, capsys):
    first = written(tmp_path, "a", a_run(700, [upload(90.0)]))
    second = written(tmp_path, "b", a_run(700, [upload(70.0)]))
    assert main([first, second]) == 1
    assert "0 of 1 ratios agree within ±10%; not: Upload 50 MB, simple, local (B/A 0.78)." in capsys.readouterr().out


def test_absolute_figures_apart_count_only_when_asked(tmp_path):
    first = written(tmp_path, "a", a_run(700, [upload(90.0), Figure("p99, 16 clients", "ms", [300.0] * 5)]))
    second = written(tmp_path, "b", a_run(700, [upload(90.0), Figure("p99, 16 clients", "ms", [400.0] * 5)]))
    assert main([first, second]) == 0
    assert main([first, second, "--all"]) == 1


def test_the_folders_of_two_runs_will_do(tmp_path):
    written(tmp_path, "a", a_run(700, [upload(90.0)]))
    written(tmp_path, "b", a_run(700, [upload(90.0)]))
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0


def test_a_quick_run_is_called_out(tmp_path, capsys):
    first = written(tmp_path, "a", a_run(700, [upload(90.0)], quick=True))
    second = written(tmp_path, "b", a_run(700, [upload(90.0)]))
    main([first, second])
    assert "calibration 700 MB/s (a quick run (BENCH_QUICK=1): not for comparison)" in capsys.readouterr().out


def test_a_figure_held_to_its_own_target_is_compared_as_a_figure_even_beside_a_reference():
    wait = "The embedded broker: publish to receipt"

    def run_with(ms, redis_ms):
        return a_run(700, [Figure(wait, "ms", [ms] * 5, "Redis", [redis_ms] * 5, Target("figure", "<", 100))])

    rows = compared(run_with(55.0, 5.0), run_with(57.0, 9.0))
    assert rows == [(wait, "ms", "55", "57", "1.04", "yes", False, "55", "57")]
