"""Heuristic quality filter (Gopher/C4-style rules) with thresholds per source and category.

datatrove's Gopher filters need spaCy just to split words; these rules split on a regex,
which is all they need, and take their thresholds from a profile chosen per document:
the profile named after the document's source, else its category, else "default".
"""

from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

_WORD = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")
_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with", "is", "in", "for", "was"})
_BULLET = ("•", "-", "*", "–", "·", "▪", "○")
_TERMINAL = (".", "!", "?", '"', "'", ":", ")")

DEFAULT_PROFILE: dict[str, float | int | None] = {
    "min_words": 50,
    "max_words": 500_000,
    "min_mean_word_length": 3.0,
    "max_mean_word_length": 10.0,
    "max_symbol_ratio": 0.1,
    "max_non_alpha_word_ratio": 0.3,
    "min_stop_words": 2,
    "max_bullet_line_ratio": 0.9,
    "max_duplicate_line_ratio": 0.3,
    "min_punctuated_line_ratio": None,
}
# Shipped profiles: clinical notes are terse and abbreviated, guidelines are list-heavy.
PROFILES: dict[str, dict[str, float | int | None]] = {
    "clinical": {"min_mean_word_length": 2.5, "max_non_alpha_word_ratio": 0.5, "min_stop_words": None},
    "guidelines": {"max_bullet_line_ratio": 1.0, "max_duplicate_line_ratio": 0.4},
    "general": {"min_punctuated_line_ratio": 0.1},
}


def text_signals(text: str) -> dict[str, float]:
    """The measurements the rules compare against thresholds."""
    words = _WORD.findall(text)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    n_words, n_lines = max(len(words), 1), max(len(lines), 1)
    line_counts = Counter(lines)
    return {
        "words": len(words),
        "mean_word_length": sum(map(len, words)) / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "non_alpha_word_ratio": sum(not _ALPHA.search(w) for w in words) / n_words,
        "stop_words": sum(w.lower().strip(".,;:") in _STOP_WORDS for w in words),
        "bullet_line_ratio": sum(line.startswith(_BULLET) for line in lines) / n_lines,
        "duplicate_line_ratio": sum(c - 1 for c in line_counts.values()) / n_lines,
        "punctuated_line_ratio": sum(line.endswith(_TERMINAL) for line in lines) / n_lines,
    }


class QualityFilter(BaseFilter):
    """Drops documents whose text signals fall outside their profile's thresholds."""

    name = "🥇 quality"

    def __init__(self, profiles: dict[str, dict] | None = None, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        merged = {name: dict(values) for name, values in PROFILES.items()}
        for name, values in (profiles or {}).items():
            unknown = set(values) - set(DEFAULT_PROFILE)
            if unknown:
                raise ValueError(f"quality profile {name!r}: unknown thresholds {sorted(unknown)}")
            merged.setdefault(name, {}).update(values)
        self.profiles = {name: DEFAULT_PROFILE | values for name, values in merged.items()}
        self.profiles.setdefault("default", dict(DEFAULT_PROFILE))

    def profile_for(self, doc: Document) -> dict:
        """The thresholds for a document: by source, then category, then the default."""
        for key in (doc.metadata.get("source"), doc.metadata.get("category")):
            if key in self.profiles:
                return self.profiles[key]
        return self.profiles["default"]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        limits, signals = self.profile_for(doc), text_signals(doc.text)
        checks = (
            ("too_few_words", "words", "min_words", min),
            ("too_many_words", "words", "max_words", max),
            ("short_words", "mean_word_length", "min_mean_word_length", min),
            ("long_words", "mean_word_length", "max_mean_word_length", max),
            ("symbols", "symbol_ratio", "max_symbol_ratio", max),
            ("non_alpha_words", "non_alpha_word_ratio", "max_non_alpha_word_ratio", max),
            ("few_stop_words", "stop_words", "min_stop_words", min),
            ("bullet_lines", "bullet_line_ratio", "max_bullet_line_ratio", max),
            ("duplicate_lines", "duplicate_line_ratio", "max_duplicate_line_ratio", max),
            ("unpunctuated_lines", "punctuated_line_ratio", "min_punctuated_line_ratio", min),
        )
        for reason, signal, threshold, kind in checks:
            limit = limits[threshold]
            if limit is None:
                continue
            if (kind is min and signals[signal] < limit) or (kind is max and signals[signal] > limit):
                return False, f"quality_{reason}"
        return True
