"""Sampling and judging: a figure and its reference take turns, and a verdict says how sure it is."""

from bench.harness import Figure, Target, interleaved, percentile


def test_the_figure_and_its_reference_take_turns_going_first_each_after_the_same_settling():
    calls = []
    mine, theirs = interleaved(
        lambda: calls.append("figure") or 2.0, lambda: calls.append("reference") or 1.0,
        settle=lambda: calls.append("settle"), samples=4,
    )
    assert [call for call in calls if call != "settle"] == [
        "figure", "reference", "reference", "figure", "figure", "reference", "reference", "figure",
    ]
    assert calls[::2] == ["settle"] * 8
    assert mine == [2.0] * 4 and theirs == [1.0] * 4


def test_without_swapping_the_figure_always_goes_first_so_every_sample_follows_one_of_the_other():
    calls = []
    interleaved(lambda: calls.append("figure") or 2.0, lambda: calls.append("reference") or 1.0, samples=3, swap=False)
    assert calls == ["figure", "reference"] * 3


def test_the_ratio_is_the_median_of_each_pair_so_one_slow_moment_spoils_one_pair_only():
    # The third pair met a busy machine on the figure's turn.
    figure = Figure("upload", "MB/s", [100, 102, 20, 98, 101], "minimal server", [110, 112, 110, 109, 111])
    assert round(figure.ratio, 2) == 0.91


def test_a_ratio_target_met_at_the_median_says_by_how_much_and_in_how_many_samples():
    figure = Figure("upload", "MB/s", [90, 95, 70, 92, 100], "minimal server", [100] * 5, Target("ratio", ">=", 0.8))
    assert figure.verdict() == (True, "met by 15% (4 of 5 samples meet it)")


def test_a_missed_target_says_missed_and_by_how_much():
    figure = Figure("conversion", "s", [12.0, 12.5, 11.8], "bare cascadio", [10.0, 10.0, 10.0],
                    Target("ratio", "<=", 1.10))
    assert figure.verdict() == (False, "**missed** by 9% (0 of 3 samples meet it)")


def test_a_figure_without_a_reference_is_held_to_its_own_target():
    figure = Figure("peak memory", "MB", [120.0], target=Target("figure", "<", 150))
    assert figure.ratio is None
    assert figure.verdict() == (True, "met by 20% (1 of 1 samples meet it)")


def test_a_figure_without_a_target_says_so():
    assert Figure("p99, 16 clients", "ms", [300.0, 320.0]).verdict() == (None, "no target")


def test_p99_is_the_nearest_rank():
    latencies = list(range(1, 101))  # 1 ms .. 100 ms
    assert percentile(latencies, 0.99) == 99
    assert percentile(latencies, 0.5) == 50
    assert percentile([5.0, 7.0], 0.99) == 7.0


def test_a_target_of_none_says_how_many_were_found_when_missed():
    lost = Figure("messages lost", "messages", [0, 3, 4], target=Target("figure", "<=", 0))
    assert lost.verdict() == (False, "**missed** at 3 (1 of 3 samples meet it)")
    assert Figure("messages lost", "messages", [0, 0, 0], target=Target("figure", "<=", 0)).verdict() == (
        True, "met (3 of 3 samples meet it)")
