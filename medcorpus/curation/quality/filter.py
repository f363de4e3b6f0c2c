"""Heuristic quality filter (Gopher/C4/FineWeb-style rules) with thresholds per source and category.

datatrove's Gopher and FineWeb filters split words with spaCy (its English word tokenizer); these rules
split on whitespace, which is all they need, and measure repetition as datatrove's `find_duplicates` and
`find_all_duplicate` do, on those words. Documents are measured a batch at a time with numpy
(`counts.py`, `ngrams.py`). The thresholds come from a
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

from collections import Counter
from collections.abc import Callable

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.quality.counts import line_counts, read_batch, word_classes
from medcorpus.curation.quality.ngrams import ngram_excess
from medcorpus.curation.tallied_filter import TalliedFilter

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
_CHEAP = RULES[:-2]  # every rule but the n-gram ones, which come last
Signals = dict[str, np.ndarray]


def batch_signals(
    texts: list[str], ngrams: np.ndarray | None = None, wanted: Callable[[Signals], np.ndarray] | None = None
) -> Signals:
    """The measurements the rules compare against thresholds, one array entry per text; the n-gram ones
    where `ngrams` holds (default: everywhere) and, if given, `wanted(signals)` (a mask) holds."""
    n_docs = len(texts)
    batch = read_batch(texts)
    ids, non_alpha, stop = word_classes(batch)
    words = np.diff(batch.bounds)
    per_word = np.maximum(words, 1)
    word_chars = batch.chars[batch.ends] - batch.chars[batch.starts]
    symbols = [text.count("#") + text.count("...") + text.count("…") for text in texts]
    lines = line_counts(batch, n_docs)
    n_lines = np.maximum(lines["lines"], 1)
    signals = {
        "words": words,
        "mean_word_length": np.bincount(batch.doc, word_chars, n_docs) / per_word,
        "symbol_ratio": np.array(symbols, np.int64) / per_word,
        "non_alpha_word_ratio": np.bincount(batch.doc, non_alpha, n_docs) / per_word,
        "stop_words": np.bincount(batch.doc, stop, n_docs).astype(np.int64),
        "bullet_line_ratio": lines["bullet"] / n_lines,
        "ellipsis_line_ratio": lines["ellipsis"] / n_lines,
        "punctuated_line_ratio": lines["punctuated"] / n_lines,
        "duplicate_line_ratio": lines["duplicate"] / n_lines,
        "duplicate_line_char_ratio": lines["duplicate_chars"] / np.maximum(lines["line_chars"], 1),
    }
    chosen = np.ones(n_docs, bool) if ngrams is None else np.asarray(ngrams, bool)
    if wanted is not None:
        chosen &= wanted(signals)
    offsets = np.concatenate(([0], np.cumsum(word_chars)))
    lengths = np.maximum(np.fromiter(map(len, texts), np.int64, n_docs), 1)
    signals["top_ngram_excess"], signals["dup_ngram_excess"] = ngram_excess(
        ids, batch.doc, batch.bounds, offsets, chosen, lengths
    )
    return signals


def text_signals(text: str, repetition: bool = True) -> dict[str, float]:
    """The signals of one text (`repetition`: also the n-gram ones)."""
    return {name: values[0].item() for name, values in batch_signals([text], [repetition]).items()}


def _failed(signals: Signals, limits: dict[str, np.ndarray], rules: tuple) -> np.ndarray:
    """The index in `rules` of the first rule each text fails (-1: none); a NaN limit is switched off."""
    failed = np.full(len(signals["words"]), -1)
    for index, (_, signal, threshold, kind) in enumerate(rules):
        limit, values = limits[threshold], signals[signal]
        bad = values < limit if kind is min else values > limit
        failed = np.where((failed < 0) & bad, index, failed)
    return failed


def _limit_arrays(limits: list[dict]) -> dict[str, np.ndarray]:
    """Each threshold as an array over texts (NaN where switched off)."""
    distinct = list({id(lim): lim for lim in limits}.values())
    position = {id(lim): i for i, lim in enumerate(distinct)}
    which = np.fromiter((position[id(lim)] for lim in limits), np.int64, len(limits))
    return {key: np.array([np.nan if lim[key] is None else lim[key] for lim in distinct], float)[which]
            for key in DEFAULT_PROFILE}  # fmt: skip


def _parts(texts: list[str], budget: int = 1 << 19) -> list[slice]:
    """Consecutive slices of `texts` of at most `budget` characters each (or of one text), which bound
    the memory of a numpy batch."""
    parts, start, size = [], 0, 0
    for end, text in enumerate(texts):
        if size + len(text) > budget and end > start:
            parts.append(slice(start, end))
            start, size = end, 0
        size += len(text)
    return parts + [slice(start, len(texts))]


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


class QualityFilter(TalliedFilter):
    """Drops documents whose text signals fall outside their profile's thresholds.

    Documents are judged `batch_size` at a time with numpy; the n-gram signals only for documents that pass
    the other rules, since those come first. Stats: `profile_<name>` counts the documents judged by each
    profile; removals are counted by datatrove as `dropped_quality_<rule>` and written to `excluded/` with
    the reason and the value.
    """

    type = "🥇 - QUALITY"
    name = "quality filter"

    def __init__(
        self, profiles: dict[str, dict] | None = None, exclusion_writer: DiskWriter | None = None, batch_size: int = 512
    ):
        super().__init__(exclusion_writer, batch_size)
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

    def judge_all(self, texts: list[str], limits: list[dict]) -> list[tuple[str, float] | None]:
        """The first rule each text fails under its limits and the value that failed it, or None."""
        return [verdict for part in _parts(texts) for verdict in self._judge_part(texts[part], limits[part])]

    def _judge_part(self, texts: list[str], limits: list[dict]) -> list[tuple[str, float] | None]:
        """`judge_all` on one numpy batch."""
        arrays = _limit_arrays(limits)
        repetition = ~(np.isnan(arrays["max_top_ngram_char_ratio"]) & np.isnan(arrays["max_dup_ngram_char_ratio"]))
        signals = batch_signals(texts, repetition, lambda sig: _failed(sig, arrays, _CHEAP) < 0)
        failed = _failed(signals, arrays, RULES).tolist()
        return [None if f < 0 else (RULES[f][0], signals[RULES[f][1]][i].item()) for i, f in enumerate(failed)]

    def judge(self, text: str, limits: dict) -> tuple[str, float] | None:
        """`judge_all` of one text."""
        return self.judge_all([text], [limits])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        names = [self.profile_name(doc) for doc in batch]
        for name, count in Counter(names).items():
            self.stat_update(f"profile_{name}", value=count)
        verdicts = self.judge_all([doc.text for doc in batch], [self.profiles[name] for name in names])
        results: list[bool | tuple[bool, str]] = []
        for doc, name, failed in zip(batch, names, verdicts):
            if failed is not None:
                doc.metadata["quality_profile"] = name
                doc.metadata["quality_value"] = round(float(failed[1]), 4)
            results.append(True if failed is None else (False, f"quality_{failed[0]}"))
        return results

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]


__all__ = ["DEFAULT_PROFILE", "PROFILES", "QualityFilter", "batch_signals", "merge_profiles", "text_signals"]
