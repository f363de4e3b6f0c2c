"""Language identification: the filter step and its backends (exact langdetect in batches, fastText lid.176)."""
