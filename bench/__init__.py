"""The benchmarks: `make bench` (bench/run.py) and its sections."""
