"""Benchmark decontamination: benchmark loading (benchmarks.py) and n-gram / id matching (decontaminator.py)."""
