"""Near-duplicate removal within and across sources: MinHash signatures and LSH buckets from datatrove.

Four passes (see README, "Near-duplicate removal"):
1. `NearDedupSignature` (one task per input shard): datatrove's MinHash signature, band by band, plus
   per task a fixed-size record per document (source priority, length, id) and its full signature.
2. `NearDedupBuckets` (one task per band; datatrove's `MinhashDedupBuckets`, vectorised in `buckets.py`): documents
   whose band of hashes is equal.
3. `NearDedupCluster` (one task, `clusters.py`): confirms candidate pairs by the estimated
   Jaccard similarity of their full signatures, joins them (union-find) and picks the copy to keep.
4. `NearDedupFilter` (one task per input shard, same readers as pass 1): drops the other copies into
   `excluded/` with `filter_reason: near_duplicate`, `duplicate_of` and `near_dup_similarity`.

With `field: prompt` the signatures are those of `prompt_of(doc)` (instruction examples whose prompts are
near-copies, whatever their answers) and the reason is `near_duplicate_prompt`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.hashing import HashConfig

from medcorpus.curation.dedup.near.buckets import NearDedupBuckets
from medcorpus.curation.dedup.near.clusters import NearDedupCluster
from medcorpus.curation.dedup.near.signature import NearDedupSignature

REASONS = {"text": "near_duplicate", "prompt": "near_duplicate_prompt"}


def minhash_config(ngram: int, bands: int, rows: int) -> MinhashConfig:
    """datatrove's MinHash settings: `bands` buckets of `rows` 64-bit hashes over word `ngram` shingles."""
    return MinhashConfig(n_grams=ngram, num_buckets=bands, hashes_per_bucket=rows, seed=1, hash_config=HashConfig())


class NearDedupFilter(PipelineStep):
    """Drops the documents pass 3 listed for this task (by position in the task's stream)."""

    type = "🫂 - DEDUP"
    name = "near-dup filter"

    def __init__(self, remove_dir: str, exclusion_writer: DiskWriter | None = None, reason: str = REASONS["text"]):
        super().__init__()
        self.remove_dir = remove_dir
        self.exclusion_writer = exclusion_writer
        self.reason = reason

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
                    doc.metadata["filter_reason"] = self.reason
                    doc.metadata["duplicate_of"] = upcoming[1]
                    doc.metadata["near_dup_similarity"] = upcoming[2]
                    self.stat_update("dropped", self.reason)
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
    config = minhash_config(params["ngram"], params["bands"], params["rows"])
    root = Path(work)
    signatures, docs, buckets, remove = (str(root / name) for name in ("signatures", "docs", "buckets", "remove"))
    cluster = NearDedupCluster(buckets, docs, remove, config, params["threshold"], params["keep"])
    field = params.get("field", "text")
    return [
        ([*readers(), NearDedupSignature(signatures, docs, config, params["priority"], field)], tasks),
        ([NearDedupBuckets(signatures, buckets, config=config)], config.num_buckets),
        ([cluster], 1),
        ([*readers(), NearDedupFilter(remove, exclusion_writer, REASONS[field]), *tail], tasks),
    ]
