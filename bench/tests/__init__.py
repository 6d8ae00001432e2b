"""Tests of the benchmark harness: how figures are sampled, judged and written up."""
