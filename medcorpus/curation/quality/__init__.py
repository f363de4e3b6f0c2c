"""Quality filtering: per-source line, word and n-gram heuristics (filter.py), computed in batches."""
