"""Benchmark decontamination: drop (or cut) documents that share long word n-grams with evaluation sets.

Texts are split into words (runs of letters and digits, lower-cased); each word gets a 64-bit
xxhash and each run of `n` words a polynomial hash of its word hashes. The index holds the
(n-gram hash, item) pairs of every benchmark item as two sorted numpy arrays (12 bytes a pair).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import xxhash
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.decontam.benchmarks import BenchmarkItem, load_items, resolve_benchmarks
from medcorpus.io.step_stats import read_step_counts

_TOKEN = re.compile(r"[^\W_]+")
_PRIME = np.uint64(0x100000001B3)
_CACHE_LIMIT = 1 << 20
_KINDS = ("cut_words", "documents", "tokens", "words")  # longest suffix first
_BITS = 24  # the prefilter bitmap has 2**24 bits (2 MiB)


class _WordHashes(dict):
    """word -> 64-bit hash, computed on a miss; words are Zipf-distributed, so most lookups hit."""

    def __missing__(self, word: str) -> int:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[word] = xxhash.xxh3_64_intdigest(word.lower().encode())
        return value


_CACHE = _WordHashes()


def words_of(text: str) -> list[re.Match]:
    """The words of a text as regex matches (their offsets locate cut passages)."""
    return list(_TOKEN.finditer(text))


def hash_ngrams(words: list[str], n: int) -> np.ndarray:
    """uint64 hashes of every run of `n` consecutive (lower-cased) words, in text order."""
    count = len(words) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.fromiter(map(_CACHE.__getitem__, words), np.uint64, len(words))
    out = np.zeros(count, dtype=np.uint64)
    for j in range(n):
        out = out * _PRIME + hashes[j : j + count]  # wraps modulo 2**64
    return out


def ngram_hashes(text: str, n: int) -> set[int]:
    """The distinct n-gram hashes of a text."""
    return {int(h) for h in hash_ngrams(_TOKEN.findall(text), n)}


class NgramIndex:
    """Sorted (n-gram hash, item number) pairs of every benchmark item; `items` maps numbers to items."""

    def __init__(self, items: list[BenchmarkItem], n: int):
        self.items = [(item.benchmark, item.item_id) for item in items]
        hashes, refs = [], []
        for number, item in enumerate(items):
            found = np.unique(np.concatenate([hash_ngrams(_TOKEN.findall(t), n) for _, t in item.texts] or [[]]))
            hashes.append(found.astype(np.uint64))
            refs.append(np.full(len(found), number, dtype=np.uint32))
        all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        all_refs = np.concatenate(refs) if refs else np.zeros(0, np.uint32)
        order = np.lexsort((all_refs, all_hashes))
        self.hashes, self.refs = all_hashes[order], all_refs[order]
        bits = (self.hashes >> np.uint64(64 - _BITS)).astype(np.int64)
        self.bitmap = np.zeros(1 << (_BITS - 3), dtype=np.uint8)  # a one-hash Bloom filter before the search
        np.bitwise_or.at(self.bitmap, bits >> 3, (1 << (bits & 7)).astype(np.uint8))

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + self.refs.nbytes + self.bitmap.nbytes

    def __len__(self) -> int:
        return len(self.hashes)

    def lookup(self, ngrams: np.ndarray) -> tuple[np.ndarray, Counter]:
        """Positions of `ngrams` found in the index, and the count of matching positions per item number."""
        per_item: Counter = Counter()
        if not len(self.hashes) or not len(ngrams):
            return np.zeros(0, dtype=np.int64), per_item
        bits = (ngrams >> np.uint64(64 - _BITS)).astype(np.int64)
        maybe = np.nonzero(self.bitmap[bits >> 3] & (1 << (bits & 7)).astype(np.uint8))[0]
        left = np.searchsorted(self.hashes, ngrams[maybe], "left")
        found = self.hashes[np.minimum(left, len(self.hashes) - 1)] == ngrams[maybe]
        positions, left = maybe[found], left[found]
        for position, start in zip(positions.tolist(), left.tolist()):
            end = start
            while end < len(self.hashes) and self.hashes[end] == ngrams[position]:
                end += 1
            per_item.update(self.refs[start:end].tolist())
        return positions, per_item


class Decontaminator(BaseFilter):
    """Removes benchmark leakage: documents sharing `n`-grams with a benchmark item, and PubMedQA PMIDs by id.

    A document is hit by an item when at least `min_matches` of its n-gram positions occur in that
    item's texts. `action="drop"` excludes it (reason `benchmark_<name>`, naming the item with the most
    matches); `action="cut"` removes the matched passages (from the first matched word to the end of the
    last, plus the punctuation attached to it) and keeps the document when `min_words_left` words
    remain. PubMed/PMC documents (`pmid_sources`) whose `pmid` is in a benchmark read with `match_ids`
    (PubMedQA's test split by default) are excluded with reason `benchmark_pmid_<name>`.
    Excluded and cut documents carry `decontam_benchmark`, `decontam_item` and `decontam_matches`.
    """

    type = "🧪 - DECONTAM"
    name = "benchmark decontamination"

    def __init__(
        self,
        benchmarks: list[str | dict],
        n: int = 13,
        min_matches: int = 1,
        action: Literal["drop", "cut"] = "drop",
        min_words_left: int = 50,
        match_pmids: bool = True,
        pmid_sources: list[str] | None = None,
        tokenizer: str | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if action not in ("drop", "cut"):
            raise ValueError(f"decontam action must be 'drop' or 'cut', got {action!r}")
        self.files = resolve_benchmarks(benchmarks)  # fails here on a bad path or format
        self.n, self.min_matches, self.action, self.min_words_left = n, min_matches, action, min_words_left
        self.match_pmids = match_pmids
        self.pmid_sources = set(pmid_sources if pmid_sources is not None else ["pubmed", "pmc"])
        self.tokenizer = tokenizer
        self._index: NgramIndex | None = None
        self._pmids: dict[str, str] | None = None
        self._encoder = None

    def _build(self) -> None:
        items, self._pmids = [], {}
        for bench in self.files:
            for item in load_items(bench):
                items.append(item)
                if bench.match_ids and item.pmid:
                    self._pmids.setdefault(item.pmid, bench.name)
        self._index = NgramIndex(items, self.n)

    @property
    def index(self) -> NgramIndex:
        """The n-gram index, built on first use (in the worker that needs it)."""
        if self._index is None:
            self._build()
        return self._index

    @property
    def pmids(self) -> dict[str, str]:
        """PMID -> benchmark name of the PMIDs removed by id."""
        if self._pmids is None:
            self._build()
        return self._pmids

    def _count_hit(self, benchmark: str, doc: Document, words: int) -> None:
        self.stat_update(f"benchmark_{benchmark}_documents")
        self.stat_update(f"benchmark_{benchmark}_words", value=words)
        if self.tokenizer:
            if self._encoder is None:
                from medcorpus.tokenize import load_tokenizer

                self._encoder = load_tokenizer(self.tokenizer, add_bos=False, add_eos=False)
            self.stat_update(f"benchmark_{benchmark}_tokens", value=len(self._encoder.encode_document(doc.text)))

    def _mark(self, doc: Document, benchmark: str, item: str, matches: int) -> None:
        doc.metadata |= {
            "filter_step": "decontam",
            "decontam_benchmark": benchmark,
            "decontam_item": item,
            "decontam_matches": matches,
        }

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        pmid = doc.metadata.get("pmid")
        if self.match_pmids and pmid is not None and doc.metadata.get("source") in self.pmid_sources:
            benchmark = self.pmids.get(str(pmid))
            if benchmark is not None:
                self._count_hit(f"pmid_{benchmark}", doc, len(_TOKEN.findall(doc.text)))
                self._mark(doc, benchmark, str(pmid), 0)
                return False, f"benchmark_pmid_{benchmark}"
        words = _TOKEN.findall(doc.text)
        positions, per_item = self.index.lookup(hash_ngrams(words, self.n))
        hits = {number: count for number, count in per_item.items() if count >= self.min_matches}
        if not hits:
            return True
        best = min(hits, key=lambda number: (-hits[number], number))
        benchmark, item = self.index.items[best]
        for name in sorted({self.index.items[number][0] for number in hits}):
            self._count_hit(name, doc, len(words))
        self._mark(doc, benchmark, item, hits[best])
        if self.action == "cut":
            text, removed = cut_passages(doc.text, words_of(doc.text), positions, self.n)
            if len(words) - removed >= self.min_words_left:
                doc.text = text
                doc.metadata["decontam_cut_words"] = removed
                self.stat_update(f"benchmark_{benchmark}_cut_words", value=removed)
                return True
            doc.metadata["decontam_cut_words"] = removed
        return False, f"benchmark_{benchmark}"


def cut_passages(text: str, words: list[re.Match], positions: np.ndarray, n: int) -> tuple[str, int]:
    """`text` without the words covered by the matched n-grams at `positions`; also the number of words cut.

    Each covered run of words is cut from its first word's start to its last word's end, plus the
    punctuation attached to that word (up to the next whitespace or letter); one space
    is left between the remaining pieces on the same line.
    """
    covered = np.zeros(len(words) + 1, dtype=np.int32)
    np.add.at(covered, positions, 1)
    np.add.at(covered, positions + n, -1)
    mask = np.cumsum(covered[:-1]) > 0
    pieces, start, removed, index = [], 0, int(mask.sum()), 0
    while index < len(words):
        if not mask[index]:
            index += 1
            continue
        last = index
        while last + 1 < len(words) and mask[last + 1]:
            last += 1
        end = words[last].end()
        while end < len(text) and not text[end].isspace() and not text[end].isalnum():
            end += 1
        pieces.append(text[start : words[index].start()].rstrip(" \t"))
        start, index = end, last + 1
    pieces.append(text[start:].lstrip(" \t"))
    joined = pieces[0]
    for piece in pieces[1:]:
        gap = "" if not joined or not piece or joined[-1].isspace() or piece[0].isspace() else " "
        joined += gap + piece
    return joined.strip(), removed


def benchmark_report(stage_folder: str | Path) -> dict[str, dict[str, int]]:
    """Per benchmark, the documents, words (and tokens, cut words) a decontamination stage hit.

    Read from the stage's step stats (`read_step_counts`); PMID removals appear as `pmid_<name>`.
    """
    report: dict[str, Counter] = {}
    for stats in read_step_counts(stage_folder).values():
        for key, value in stats.items():
            kind = next((k for k in _KINDS if key.startswith("benchmark_") and key.endswith("_" + k)), None)
            if kind is not None:
                report.setdefault(key[len("benchmark_") : -len(kind) - 1], Counter())[kind] += int(value)
    return {name: dict(sorted(counts.items())) for name, counts in sorted(report.items())}
