"""Heuristic quality filter (Gopher/C4/FineWeb-style rules) with thresholds per source and category.

datatrove's Gopher and FineWeb filters split words with spaCy (its English word tokenizer); these rules
split on whitespace, which is all they need, and reuse datatrove's repetition measures
(`find_duplicates`, `find_all_duplicate`) on those words. The thresholds come from a
profile chosen per document: the profile named after the document's source, else its category, else
"default". A threshold set to None switches its rule off.

Rules and thresholds (a document is removed by the first rule it fails, reason `quality_<rule>`):
word count (`min_words`, `max_words`), mean word length, symbols (# and ellipses) per word, words without
a letter, English stop words (`min_stop_words`), lines starting with a bullet (`max_bullet_line_ratio`),
lines ending in an ellipsis, lines ending in punctuation (`min_punctuated_line_ratio`), duplicated lines
(as a share of lines and of characters), the most frequent 2-, 3- and 4-gram's share of characters
(`max_top_ngram_char_ratio` for 2-grams; 3- and 4-grams get 0.9x and 0.8x of it, Gopher's 0.20/0.18/0.16)
and the share of characters in duplicated 5- to 10-grams (`max_dup_ngram_char_ratio` for 5-grams, less
0.01 per extra word, Gopher's 0.15 ... 0.10).
"""

from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_duplicates
from datatrove.pipeline.writers.disk_base import DiskWriter

_WORD = re.compile(r"\S+")
_NON_ALPHA_WORD = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")  # a word without a letter
_STOP_WORD = re.compile(r"(?<!\S)[.,;:]*(?i:the|be|to|of|and|that|have|with|is|in|for|was)[.,;:]*(?!\S)")
_BULLET = ("•", "-", "*", "–", "·", "▪", "○", "●", "■", "◦", "‣", "⁃", "»", "›")
_TERMINAL = (".", "!", "?", '"', "'", ":", ")", "”", "’", ";")
_ELLIPSIS = ("...", "…")

DEFAULT_PROFILE: dict[str, float | int | None] = {
    "min_words": 50,
    "max_words": 500_000,
    "min_mean_word_length": 3.0,
    "max_mean_word_length": 10.0,
    "max_symbol_ratio": 0.1,
    "max_non_alpha_word_ratio": 0.3,
    "min_stop_words": 2,
    "max_bullet_line_ratio": 0.9,
    "max_ellipsis_line_ratio": 0.3,
    "min_punctuated_line_ratio": None,
    "max_duplicate_line_ratio": 0.3,
    "max_duplicate_line_char_ratio": 0.2,
    "max_top_ngram_char_ratio": 0.2,
    "max_dup_ngram_char_ratio": 0.15,
}
# Shipped profiles (measured on the real samples: see benchmarks/bench_quality_rates.py and the README).
# Clinical notes are short, terse and abbreviated, with templated lines; guidelines are list-heavy and
# repeat their recommendation wording; web text is held to Gopher's and FineWeb's line rules.
PROFILES: dict[str, dict[str, float | int | None]] = {
    "biomedical": {  # short abstracts; old MEDLINE abstracts end in "..." when truncated; long terms repeat
        "min_words": 30,
        "max_ellipsis_line_ratio": None,
        "max_top_ngram_char_ratio": 0.3,
        "max_dup_ngram_char_ratio": 0.25,
    },
    "clinical": {  # terse, abbreviated, templated; nursing notes use "..." and "#" for problems
        "min_words": 10,
        "min_mean_word_length": 2.5,
        "max_symbol_ratio": 0.25,
        "max_non_alpha_word_ratio": 0.5,
        "min_stop_words": None,
        "max_bullet_line_ratio": 1.0,
        "max_ellipsis_line_ratio": None,
        "max_duplicate_line_ratio": 0.5,
        "max_duplicate_line_char_ratio": 0.4,
        "max_top_ngram_char_ratio": None,  # templated by design; copies across notes are near-dedup's job
        "max_dup_ngram_char_ratio": None,
    },
    "guidelines": {  # list-heavy, recommendation wording repeats
        "max_bullet_line_ratio": 1.0,
        "max_non_alpha_word_ratio": 0.4,
        "max_duplicate_line_ratio": 0.4,
        "max_duplicate_line_char_ratio": 0.3,
        "max_dup_ngram_char_ratio": 0.3,
    },
    "general": {"min_punctuated_line_ratio": 0.12},  # FineWeb's line rule on top of Gopher's
}
RULES = (  # (reason, signal, threshold, kind)
    ("too_few_words", "words", "min_words", min),
    ("too_many_words", "words", "max_words", max),
    ("short_words", "mean_word_length", "min_mean_word_length", min),
    ("long_words", "mean_word_length", "max_mean_word_length", max),
    ("symbols", "symbol_ratio", "max_symbol_ratio", max),
    ("non_alpha_words", "non_alpha_word_ratio", "max_non_alpha_word_ratio", max),
    ("few_stop_words", "stop_words", "min_stop_words", min),
    ("bullet_lines", "bullet_line_ratio", "max_bullet_line_ratio", max),
    ("ellipsis_lines", "ellipsis_line_ratio", "max_ellipsis_line_ratio", max),
    ("unpunctuated_lines", "punctuated_line_ratio", "min_punctuated_line_ratio", min),
    ("duplicate_lines", "duplicate_line_ratio", "max_duplicate_line_ratio", max),
    ("duplicate_line_chars", "duplicate_line_char_ratio", "max_duplicate_line_char_ratio", max),
    ("top_ngram", "top_ngram_excess", "max_top_ngram_char_ratio", max),
    ("duplicate_ngrams", "dup_ngram_excess", "max_dup_ngram_char_ratio", max),
)
_TOP_NGRAMS = ((2, 1.0), (3, 0.9), (4, 0.8))
_DUP_STOP = 0.05  # below this share of repeated 5-gram text, longer n-grams are not measured
_DUP_NGRAMS = tuple((n, 1.0 - (n - 5) / 15) for n in range(5, 11))  # 0.15 -> 0.10 when the 5-gram limit is 0.15


def _top_ngram_chars(words: list[str], n: int) -> int:
    """Characters in all copies of the most frequent n-gram; 0 when no n-gram occurs twice (datatrove's
    `find_top_duplicate` counts a single occurrence too, which fails short texts for no repetition)."""
    counts = Counter(zip(*(words[i:] for i in range(n))))
    gram, count = counts.most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count if count > 1 else 0


def _ngram_signals(words: list[str], chars: int) -> tuple[float, float]:
    """The largest top-n-gram and duplicated-n-gram character ratios, each divided by its scale, so that
    one threshold (the 2-gram or 5-gram limit) stands for the whole Gopher ladder."""
    chars = max(chars, 1)
    top = max((_top_ngram_chars(words, n) / chars / scale for n, scale in _TOP_NGRAMS if len(words) >= n), default=0)
    dup = 0.0
    for n, scale in _DUP_NGRAMS:
        ratio = find_all_duplicate(words, n) / chars
        dup = max(dup, ratio / scale)
        if ratio <= _DUP_STOP:
            break  # text in repeated longer n-grams is (nearly) part of that in shorter ones: stop
    return top, dup


def text_signals(text: str, repetition: bool = True) -> dict[str, float]:
    """The measurements the rules compare against thresholds (`repetition`: also the n-gram ones)."""
    words = _WORD.findall(text)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    n_words, n_lines = max(len(words), 1), max(len(lines), 1)
    duplicate_lines, duplicate_chars = find_duplicates(lines)
    signals = {
        "words": len(words),
        "mean_word_length": sum(map(len, words)) / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "non_alpha_word_ratio": len(_NON_ALPHA_WORD.findall(text)) / n_words,
        "stop_words": len(_STOP_WORD.findall(text)),
        "bullet_line_ratio": sum(line.startswith(_BULLET) for line in lines) / n_lines,
        "ellipsis_line_ratio": sum(line.endswith(_ELLIPSIS) for line in lines) / n_lines,
        "punctuated_line_ratio": sum(line.endswith(_TERMINAL) for line in lines) / n_lines,
        "duplicate_line_ratio": duplicate_lines / n_lines,
        "duplicate_line_char_ratio": duplicate_chars / max(sum(map(len, lines)), 1),
        "top_ngram_excess": 0.0,
        "dup_ngram_excess": 0.0,
    }
    if repetition:
        signals["top_ngram_excess"], signals["dup_ngram_excess"] = _ngram_signals(words, len(text))
    return signals


def merge_profiles(profiles: dict[str, dict] | None) -> dict[str, dict]:
    """The shipped profiles updated with `profiles` (each complete, with the defaults filled in)."""
    merged = {name: dict(values) for name, values in PROFILES.items()}
    for name, values in (profiles or {}).items():
        unknown = set(values) - set(DEFAULT_PROFILE)
        if unknown:
            raise ValueError(f"quality profile {name!r}: unknown thresholds {sorted(unknown)}")
        merged.setdefault(name, {}).update(values)
    complete = {name: DEFAULT_PROFILE | values for name, values in merged.items()}
    complete["default"] = DEFAULT_PROFILE | merged.get("default", {})
    return complete


class QualityFilter(BaseFilter):
    """Drops documents whose text signals fall outside their profile's thresholds.

    Stats: `profile_<name>` counts the documents judged by each profile; removals are counted by
    datatrove as `dropped_quality_<rule>` and written to `excluded/` with the reason and the value.
    """

    name = "🥇 quality"

    def __init__(self, profiles: dict[str, dict] | None = None, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.profiles = merge_profiles(profiles)

    def profile_name(self, doc: Document) -> str:
        """The profile for a document: by source, then category, then the default."""
        for key in (doc.metadata.get("source"), doc.metadata.get("category")):
            if key in self.profiles:
                return key
        return "default"

    def profile_for(self, doc: Document) -> dict:
        """The thresholds for a document."""
        return self.profiles[self.profile_name(doc)]

    def judge(self, text: str, limits: dict) -> tuple[str, float] | None:
        """The first rule `text` fails under `limits` and the value that failed it, or None."""
        repetition = limits["max_top_ngram_char_ratio"] is not None or limits["max_dup_ngram_char_ratio"] is not None
        signals = text_signals(text, repetition)
        for reason, signal, threshold, kind in RULES:
            limit = limits[threshold]
            if limit is None:
                continue
            if (kind is min and signals[signal] < limit) or (kind is max and signals[signal] > limit):
                return reason, signals[signal]
        return None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        name = self.profile_name(doc)
        self.stat_update(f"profile_{name}")
        failed = self.judge(doc.text, self.profiles[name])
        if failed is None:
            return True
        doc.metadata["quality_profile"] = name
        doc.metadata["quality_value"] = round(float(failed[1]), 4)
        return False, f"quality_{failed[0]}"


__all__ = ["DEFAULT_PROFILE", "PROFILES", "QualityFilter", "merge_profiles", "text_signals"]
