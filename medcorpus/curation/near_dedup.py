"""Near-duplicate removal within and across sources: MinHash signatures and LSH buckets from datatrove.

Four passes (see README, "Near-duplicate removal"):
1. `NearDedupSignature` (one task per input shard): datatrove's MinHash signature, band by band, plus
   per task a fixed-size record per document (source priority, length, id) and its full signature.
2. datatrove's `MinhashDedupBuckets` (one task per band): documents whose band of hashes is equal.
3. `NearDedupCluster` (one task, `near_dedup_keep.py`): confirms candidate pairs by the estimated
   Jaccard similarity of their full signatures, joins them (union-find) and picks the copy to keep.
4. `NearDedupFilter` (one task per input shard, same readers as pass 1): drops the other copies into
   `excluded/` with `filter_reason: near_duplicate`, `duplicate_of` and `near_dup_similarity`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.text import simplify_text
from datatrove.utils.word_tokenizers import WordTokenizer

from medcorpus.atomic import atomic_open
from medcorpus.curation.dedup import SourcePriority

INFO = struct.Struct("<IQQI")  # source priority, text length, offset and size of the id in the .ids file
REASON = "near_duplicate"


class SpaceWords(WordTokenizer):
    """Words split on whitespace: datatrove's text simplification has already removed punctuation.

    (datatrove's English tokenizer needs spaCy; shingles only need a stable split.)
    """

    _SPACE = re.compile(r"\s+")

    def word_tokenize(self, text: str) -> list[str]:
        return [word for word in self._SPACE.split(text) if word]

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)


def word_shingles(words: list[str], n: int) -> np.ndarray:
    """64-bit hashes of the word `n`-grams of `words`, shape (count, 1).

    Each word is hashed once (xxHash64 of its UTF-8 bytes); an n-gram's hash combines its words' hashes by
    position with odd multipliers, then goes through the SplitMix64 finaliser, all in numpy: the same
    quality as hashing the joined n-gram, without building one string per n-gram."""
    if len(words) < n:  # as datatrove: too short for one shingle, so never a near-duplicate
        return np.zeros((0, 1), dtype=np.uint64)
    hashes = np.fromiter((xxhash.xxh64_intdigest(w.encode("utf-8")) for w in words), np.uint64, len(words))
    count = len(words) - n + 1
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for i in range(n):
            combined = combined * _MIX[0] + hashes[i : i + count]
        combined ^= combined >> np.uint64(30)
        combined *= _MIX[1]
        combined ^= combined >> np.uint64(27)
        combined *= _MIX[2]
        combined ^= combined >> np.uint64(31)
    return combined.reshape((-1, 1))


def minhash_config(ngram: int, bands: int, rows: int) -> MinhashConfig:
    """datatrove's MinHash settings: `bands` buckets of `rows` 64-bit hashes over word `ngram` shingles."""
    return MinhashConfig(n_grams=ngram, num_buckets=bands, hashes_per_bucket=rows, seed=1, hash_config=HashConfig())


def docs_paths(folder: str | Path, rank: int) -> tuple[Path, Path, Path]:
    """The per-task files of pass 1: fixed-size records, ids, full signatures."""
    base = Path(folder) / f"{rank:05d}"
    return base.with_suffix(".info"), base.with_suffix(".ids"), base.with_suffix(".full")


class NearDedupSignature(MinhashDedupSignature):
    """datatrove's MinHash signature step that also records what the keep rule and verification need."""

    name = "🎯 near-dup signatures"

    def __init__(self, signatures_dir: str, docs_dir: str, config: MinhashConfig, priority: list[str]):
        super().__init__(signatures_dir, config=config, language=SpaceWords())
        self._ascii_norm = dataclasses.replace(config.norm_config, norm_unicode_diacritics=False)
        self.docs_dir = docs_dir
        self.priority = SourcePriority(priority)
        self._last: list[list[int]] | None = None

    def get_shingles(self, text: str) -> np.ndarray:
        """datatrove's text simplification (its diacritics pass is skipped on ASCII text, where it changes
        nothing and costs a Python call per character), whitespace words, hashed word n-grams."""
        norm = self._ascii_norm if text.isascii() else self.config.norm_config
        return word_shingles(simplify_text(text, norm).split(), self.config.n_grams)

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        self._last = super().get_signature(shingles)
        return self._last

    def _recorded(self, data: DocumentsPipeline, rank: int) -> Iterator[Document]:
        info_path, ids_path, full_path = docs_paths(self.docs_dir, rank)
        info_path.parent.mkdir(parents=True, exist_ok=True)
        empty = np.full(self.num_hashes, self.config.hash_config.max, dtype=self.config.hash_config.np_dtype)
        offset = 0
        with atomic_open(info_path) as info, atomic_open(ids_path) as ids, atomic_open(full_path) as full:
            for doc in data:
                key = str(doc.id).encode("utf-8")
                info.write(INFO.pack(self.priority(doc), len(doc.text), offset, len(key)))
                ids.write(key)
                offset += len(key)
                self._last = None
                yield doc  # datatrove computes this document's signature before asking for the next one
                sig = empty if self._last is None else np.asarray(self._last, dtype=empty.dtype).ravel()
                full.write(sig.tobytes())

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> None:
        super().run(self._recorded(data, rank), rank, world_size)


class NearDedupFilter(PipelineStep):
    """Drops the documents pass 3 listed for this task (by position in the task's stream)."""

    type = "🫂 - DEDUP"
    name = "🎯 near-dup filter"

    def __init__(self, remove_dir: str, exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.remove_dir = remove_dir
        self.exclusion_writer = exclusion_writer

    def _removals(self, rank: int) -> Iterator[tuple[int, str, float]]:
        path = Path(self.remove_dir) / f"{rank:05d}.remove"
        if not path.is_file():
            return
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                index, kept, similarity = json.loads(line)
                yield index, kept, similarity

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        removals = self._removals(rank)
        upcoming = next(removals, None)
        writer = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with writer as excluded:
            for index, doc in enumerate(data):
                self.stat_update("total")
                if upcoming is not None and upcoming[0] == index:
                    doc.metadata["filter_reason"] = REASON
                    doc.metadata["duplicate_of"] = upcoming[1]
                    doc.metadata["near_dup_similarity"] = upcoming[2]
                    self.stat_update("dropped", REASON)
                    if self.exclusion_writer:
                        excluded.write(doc, rank)
                    upcoming = next(removals, None)
                    continue
                self.stat_update("forwarded")
                yield doc


def near_dedup_pipelines(
    readers: Callable[[], list[PipelineStep]],
    work: str,
    params: dict,
    tasks: int,
    exclusion_writer: DiskWriter | None,
    tail: list[PipelineStep],
) -> list[tuple[list[PipelineStep], int]]:
    """The four passes as (steps, tasks); `readers()` must give identical readers for passes 1 and 4."""
    from medcorpus.curation.near_dedup_keep import NearDedupCluster

    config = minhash_config(params["ngram"], params["bands"], params["rows"])
    root = Path(work)
    signatures, docs, buckets, remove = (str(root / name) for name in ("signatures", "docs", "buckets", "remove"))
    cluster = NearDedupCluster(buckets, docs, remove, config, params["threshold"], params["keep"])
    return [
        ([*readers(), NearDedupSignature(signatures, docs, config, params["priority"])], tasks),
        ([MinhashDedupBuckets(signatures, buckets, config=config)], config.num_buckets),
        ([cluster], 1),
        ([*readers(), NearDedupFilter(remove, exclusion_writer), *tail], tasks),
    ]
