"""Benchmark decontamination: drop (or cut) documents that share long word n-grams with evaluation sets,
instruction examples that ask a benchmark question (questions.py), and PubMed/PMC papers by PMID.

Texts are split into words (runs of letters and digits, lower-cased); each word gets a 64-bit
hash and each run of `n` words a polynomial hash of its word hashes (words.py). The index holds the
(n-gram hash, item) pairs of every benchmark item as two sorted numpy arrays (12 bytes a pair).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.decontam.benchmarks import BenchmarkItem, load_items, resolve_benchmarks
from medcorpus.curation.decontam.questions import QuestionIndex
from medcorpus.curation.decontam.words import hash_ngrams, ngram_hashes, text_ngrams, words_of
from medcorpus.curation.tallied_filter import TalliedFilter
from medcorpus.documents import prompt_of, replace_text, turns_of
from medcorpus.io.step_stats import read_step_counts
from medcorpus.paths import is_remote

__all__ = [
    "Decontaminator",
    "NgramIndex",
    "benchmark_report",
    "cut_passages",
    "hash_ngrams",
    "ngram_hashes",
    "words_of",
]

_KINDS = ("cut_words", "documents", "tokens", "words")  # longest suffix first
MATCHES = ("pmid", "question", "ngram")  # tried in this order; a document is counted under the first that hits
_HIT = "hit/"  # step stats `hit/<match>/<benchmark>/<source>`: documents hit
_BITS = 24  # the prefilter bitmap has 2**24 bits (2 MiB)


class NgramIndex:
    """Sorted (n-gram hash, item number) pairs of every benchmark item; `items` maps numbers to items."""

    def __init__(self, items: list[BenchmarkItem], n: int):
        self.items = [(item.benchmark, item.item_id) for item in items]
        # every text's n-grams hashed in one batch (n-grams never cross two texts), then each item's distinct
        # hashes: the distinct (hash, item) pairs, sorted by hash, then item
        owners = [number for number, item in enumerate(items) for _ in item.texts]
        grams, _ = text_ngrams([text for item in items for _, text in item.texts], n)
        all_hashes = np.concatenate(grams) if grams else np.zeros(0, np.uint64)
        all_refs = np.repeat(np.array(owners, dtype=np.uint32), [len(g) for g in grams])
        order = np.lexsort((all_refs, all_hashes))
        all_hashes, all_refs = all_hashes[order], all_refs[order]
        distinct = np.ones(len(all_hashes), dtype=bool)
        distinct[1:] = (all_hashes[1:] != all_hashes[:-1]) | (all_refs[1:] != all_refs[:-1])
        self.hashes, self.refs = all_hashes[distinct], all_refs[distinct]
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
        return self.lookup_many([ngrams])[0]

    def lookup_many(self, batch: list[np.ndarray]) -> list[tuple[np.ndarray, Counter]]:
        """`lookup` of each array of a batch, the prefilter and the search run once over all of them."""
        lengths = np.fromiter(map(len, batch), np.int64, len(batch))
        results = [(np.zeros(0, dtype=np.int64), Counter()) for _ in batch]
        if not len(self.hashes) or not lengths.sum():
            return results
        ngrams = np.concatenate(batch)
        bits = (ngrams >> np.uint64(64 - _BITS)).astype(np.int64)
        maybe = np.nonzero(self.bitmap[bits >> 3] & (1 << (bits & 7)).astype(np.uint8))[0]
        left = np.searchsorted(self.hashes, ngrams[maybe], "left")
        found = self.hashes[np.minimum(left, len(self.hashes) - 1)] == ngrams[maybe]
        positions, left = maybe[found], left[found]
        starts = np.cumsum(lengths) - lengths
        owners = np.searchsorted(starts, positions, side="right") - 1  # ascending, as the positions are
        hashes, refs = self.hashes, self.refs
        for owner, first, last in zip(*_runs(owners)):
            per_item: Counter = Counter()
            for position, start in zip(positions[first:last].tolist(), left[first:last].tolist()):
                end = start
                while end < len(hashes) and hashes[end] == ngrams[position]:
                    end += 1
                per_item.update(refs[start:end].tolist())
            results[owner] = (positions[first:last] - starts[owner], per_item)
        return results


def _runs(values: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """Each distinct value of a sorted array with the start and end of its run."""
    if not len(values):
        return [], [], []
    breaks = np.flatnonzero(values[1:] != values[:-1]) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks, [len(values)]])
    return values[firsts].tolist(), firsts.tolist(), lasts.tolist()


# (benchmark files, n) -> (items, PMIDs, index), built by `Decontaminator.share` before a local run forks
_SHARED: dict[tuple, tuple[list[BenchmarkItem], dict[str, str], NgramIndex]] = {}


def _shared_key(files: list, n: int) -> tuple:
    """What a shared index is for: the benchmark files as they are now (a local file's size and modification time)
    and n."""
    stats = [None if is_remote(bench.path) else os.stat(bench.path) for bench in files]
    return tuple((bench, stat and (stat.st_size, stat.st_mtime_ns)) for bench, stat in zip(files, stats)), n


def _load(files: list, n: int) -> tuple[list[BenchmarkItem], dict[str, str], NgramIndex]:
    """Every item of the benchmark files, the PMIDs removed by id (-> benchmark name), and the n-gram index."""
    items: list[BenchmarkItem] = []
    pmids: dict[str, str] = {}
    for bench in files:
        for item in load_items(bench):
            items.append(item)
            if bench.match_ids and item.pmid:
                pmids.setdefault(item.pmid, bench.name)
    return items, pmids, NgramIndex(items, n)


class Decontaminator(TalliedFilter):
    """Removes benchmark leakage: documents sharing `n`-grams with a benchmark item, and PubMedQA PMIDs by id.

    A document is hit by an item when at least `min_matches` of its n-gram positions occur in that
    item's texts. `action="drop"` excludes it (reason `benchmark_<name>`, naming the item with the most
    matches); `action="cut"` removes the matched passages (from the first matched word to the end of the
    last, plus the punctuation attached to it) and keeps the document when `min_words_left` words
    remain. PubMed/PMC documents (`pmid_sources`) whose `pmid` is in a benchmark read with `match_ids`
    (PubMedQA's test split by default) are excluded with reason `benchmark_pmid_<name>`.
    Instruction examples (documents with `turns`) are also matched by question (`questions`,
    questions.py): one whose prompt holds an item's question, or a user turn that is one, is excluded
    with reason `benchmark_question_<name>` (`decontam_matches`: the question's words). Instruction
    examples are always dropped, never cut: cutting would break their turns.
    Excluded and cut documents carry `decontam_benchmark`, `decontam_item` and `decontam_matches`.
    Step stats count per benchmark the documents, words (and tokens, cut words) hit, and the documents
    by match (`pmid`, `question`, `ngram`: the first that hits) and source (`benchmark_report`).
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
        questions: bool = True,
        min_question_words: int = 6,
        tokenizer: str | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size=256)
        if action not in ("drop", "cut"):
            raise ValueError(f"decontam action must be 'drop' or 'cut', got {action!r}")
        self.files = resolve_benchmarks(benchmarks)  # fails here on a bad path or format
        self.n, self.min_matches, self.action, self.min_words_left = n, min_matches, action, min_words_left
        self.match_pmids = match_pmids
        self.pmid_sources = set(pmid_sources if pmid_sources is not None else ["pubmed", "pmc"])
        if min_question_words < 1:
            raise ValueError(f"decontam min_question_words must be at least 1, got {min_question_words}")
        self.questions, self.min_question_words = questions, min_question_words
        self.tokenizer = tokenizer
        self._items: list[BenchmarkItem] = []
        self._index: NgramIndex | None = None
        self._questions: QuestionIndex | None = None
        self._pmids: dict[str, str] | None = None
        self._encoder = None

    def _build(self) -> None:
        key = _shared_key(self.files, self.n)
        self._items, self._pmids, self._index = _SHARED.get(key) or _load(self.files, self.n)

    def share(self) -> None:
        """Build the benchmark items and index now, in this process, for the workers it forks to inherit
        (datatrove's local executor forks one per task: each would build its own, ~0.9 CPU-s on all of
        `../shared/data/benchmarks`). Nothing is added to the step itself, so it pickles as small as before."""
        key = _shared_key(self.files, self.n)
        if key not in _SHARED:
            _SHARED[key] = _load(self.files, self.n)

    @property
    def index(self) -> NgramIndex:
        """The n-gram index, built on first use (in the worker that needs it) unless `share` built it."""
        if self._index is None:
            self._build()
        return self._index

    @property
    def question_index(self) -> QuestionIndex:
        """The question index, built on the first instruction example (item numbers are the n-gram index's)."""
        if self._questions is None:
            if self._index is None:
                self._build()
            self._questions = QuestionIndex(self._items, self.min_question_words)
        return self._questions

    @property
    def pmids(self) -> dict[str, str]:
        """PMID -> benchmark name of the PMIDs removed by id."""
        if self._pmids is None:
            self._build()
        return self._pmids

    def _count_hit(self, benchmark: str, doc: Document, words: int, match: str) -> None:
        self.stat_update(f"{_HIT}{match}/{benchmark}/{doc.metadata.get('source', 'unknown')}")
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

    def _question_hit(self, doc: Document, turns: list[dict], words: int) -> str | None:
        """The benchmark of the longest question the example asks (counted and marked), or None."""
        questions = self.question_index
        found = questions.find(prompt_of(doc), [turn["content"] for turn in turns if turn["role"] == "user"])
        if not found:
            return None
        best = min(found, key=lambda question: (-questions.words(question), question))
        benchmark, item = self.index.items[questions.item(best)]
        for name in sorted({self.index.items[questions.item(question)][0] for question in found}):
            self._count_hit(name, doc, words, "question")
        self._mark(doc, benchmark, item, questions.words(best))
        return benchmark

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """`filter` over a batch, the word n-grams of all its documents hashed at once."""
        ngrams, words = text_ngrams([doc.text for doc in batch], self.n)
        found = self.index.lookup_many(ngrams)
        return [self._filter(*args) for args in zip(batch, words.tolist(), ngrams, found)]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def _filter(
        self, doc: Document, words: int, ngrams: np.ndarray, found: tuple[np.ndarray, Counter]
    ) -> bool | tuple[bool, str]:
        """The verdict on one document, given its word count, word n-gram hashes and their index matches."""
        pmid = doc.metadata.get("pmid")
        if self.match_pmids and pmid is not None and doc.metadata.get("source") in self.pmid_sources:
            benchmark = self.pmids.get(str(pmid))
            if benchmark is not None:
                self._count_hit(benchmark, doc, words, "pmid")
                self._mark(doc, benchmark, str(pmid), 0)
                return False, f"benchmark_pmid_{benchmark}"
        turns = turns_of(doc)
        if turns is not None and self.questions:
            benchmark = self._question_hit(doc, turns, words)
            if benchmark is not None:
                return False, f"benchmark_question_{benchmark}"
        positions, per_item = found
        hits = {number: count for number, count in per_item.items() if count >= self.min_matches}
        if not hits:
            return True
        best = min(hits, key=lambda number: (-hits[number], number))
        benchmark, item = self.index.items[best]
        for name in sorted({self.index.items[number][0] for number in hits}):
            self._count_hit(name, doc, words, "ngram")
        self._mark(doc, benchmark, item, hits[best])
        if self.action == "cut" and turns is None:
            text, removed = cut_passages(doc.text, words_of(doc.text), positions, self.n)
            if words - removed >= self.min_words_left:
                replace_text(doc, text)
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


def benchmark_report(stage_folder: str | Path) -> dict[str, dict]:
    """Per benchmark, what a decontamination stage hit: documents, words (and tokens, cut words), the
    documents by match (`matches`: pmid, question, ngram) and by source and match (`sources`).

    Read from the stage's step stats (`read_step_counts`). (Stages run before matches were counted
    have PMID removals under `pmid_<name>` and no `matches` or `sources`.)
    """
    report: dict[str, dict] = {}
    for stats in read_step_counts(stage_folder).values():
        for key, value in stats.items():
            if key.startswith(_HIT):
                match, name, source = key[len(_HIT) :].split("/", 2)
                entry = report.setdefault(name, {})
                entry.setdefault("matches", Counter())[match] += int(value)
                entry.setdefault("sources", {}).setdefault(source, Counter())[match] += int(value)
                continue
            kind = next((k for k in _KINDS if key.startswith("benchmark_") and key.endswith("_" + k)), None)
            if kind is not None:
                entry = report.setdefault(key[len("benchmark_") : -len(kind) - 1], {})
                entry[kind] = entry.get(kind, 0) + int(value)
    for entry in report.values():
        if "matches" in entry:
            entry["matches"] = dict(sorted(entry["matches"].items()))
            entry["sources"] = {source: dict(sorted(c.items())) for source, c in sorted(entry["sources"].items())}
    return {name: dict(sorted(entry.items())) for name, entry in sorted(report.items())}
