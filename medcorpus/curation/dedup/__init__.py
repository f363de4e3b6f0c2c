"""Deduplication: exact (exact.py) within and across sources, and near-duplicates by MinHash (near/)."""
