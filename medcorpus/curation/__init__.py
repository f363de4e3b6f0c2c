"""Curation steps: cleaning, language, quality, deduplication, de-identification, decontamination."""
