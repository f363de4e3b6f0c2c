"""Benchmark decontamination: benchmark loading (benchmarks.py), words (words.py), n-gram / id matching
(decontaminator.py) and exact question matching for instruction examples (questions.py)."""
