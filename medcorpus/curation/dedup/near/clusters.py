"""Pass 3 of near-duplicate removal: confirm candidate pairs, cluster them, choose the copy to keep.

datatrove's own cluster step keeps an arbitrary member (the union-find root); this one applies the
configured keep rule. Memory: the union-find holds only documents that are in a confirmed pair;
per-document records and full signatures are read from the memory-mapped files of pass 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.utils.binaryio import read_tuples_from_file
from datatrove.utils.logging import logger

from medcorpus.curation.dedup.near.records import INFO_DTYPE, docs_paths
from medcorpus.io.atomic import atomic_write_text

KEEP_RULES = ("priority", "longest", "shortest", "id")
Node = tuple[int, int]  # (task rank, position of the document in that task's stream)


class _Docs:
    """Random access to pass 1's per-task records (memory-mapped, loaded on first use)."""

    def __init__(self, folder: str, num_hashes: int, dtype: np.dtype):
        self.folder = folder
        self.num_hashes = num_hashes
        self.dtype = dtype
        self._tasks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _task(self, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if rank not in self._tasks:
            info, ids, full = docs_paths(self.folder, rank)
            self._tasks[rank] = (
                np.memmap(info, dtype=INFO_DTYPE, mode="r") if info.stat().st_size else np.zeros(0, INFO_DTYPE),
                np.memmap(ids, dtype=np.uint8, mode="r") if ids.stat().st_size else np.zeros(0, np.uint8),
                np.memmap(full, dtype=self.dtype, mode="r").reshape(-1, self.num_hashes)
                if full.stat().st_size
                else np.zeros((0, self.num_hashes), self.dtype),
            )
        return self._tasks[rank]

    def similarity(self, a: Node, b: Node) -> float:
        """Estimated Jaccard similarity: the share of MinHash values the two signatures have in common."""
        first, second = self._task(a[0])[2][a[1]], self._task(b[0])[2][b[1]]
        return float(np.count_nonzero(first == second)) / self.num_hashes

    def record(self, node: Node) -> tuple[int, int, str]:
        """(source priority, text length, id) of a document."""
        info, ids, _ = self._task(node[0])
        row = info[node[1]]
        start = int(row["offset"])
        return int(row["priority"]), int(row["length"]), ids[start : start + int(row["size"])].tobytes().decode()


def keep_key(record: tuple[int, int, str], node: Node, keep: list[str]) -> tuple:
    """Sort key: the smallest key in a cluster is kept (the id, then the position, break any tie)."""
    priority, length, doc_id = record
    parts = {"priority": -priority, "longest": -length, "shortest": length, "id": doc_id}
    return (*(parts[rule] for rule in keep), doc_id, node)


class NearDedupCluster(PipelineStep):
    """Reads datatrove's `.dups` pairs, keeps those at or above `threshold`, writes `<rank>.remove` files.

    Each line of a `.remove` file is `[position, kept document id, estimated similarity to it]`,
    sorted by position. `threshold` None (or 0) takes every LSH bucket collision as a duplicate.
    """

    type = "🫂 - DEDUP"
    name = "near-dup clusters"

    def __init__(
        self,
        buckets_dir: str,
        docs_dir: str,
        remove_dir: str,
        config: MinhashConfig,
        threshold: float | None,
        keep: list[str],
    ):
        super().__init__()
        self.buckets_dir = buckets_dir
        self.docs_dir = docs_dir
        self.remove_dir = remove_dir
        self.config = config
        self.threshold = threshold or 0.0
        self.keep = list(keep)

    def _pairs(self):
        for path in sorted(Path(self.buckets_dir).glob("*.dups")):
            with path.open("rb") as handle:
                for rank_a, index_a, rank_b, index_b in read_tuples_from_file(handle, "4I", lines_to_buffer=1000):
                    yield (rank_a, index_a), (rank_b, index_b)

    def clusters(self, docs: _Docs) -> dict[Node, Node]:
        """Union-find over confirmed pairs: {document: representative}, fully compressed."""
        parent: dict[Node, Node] = {}

        def find(node: Node) -> Node:
            root = node
            while parent.get(root, root) != root:
                root = parent[root]
            while node != root:  # path compression
                parent[node], node = root, parent[node]
            return root

        for a, b in self._pairs():
            self.stat_update("candidate_pairs")
            root_a, root_b = find(a), find(b)
            if root_a == root_b:
                continue
            if self.threshold and docs.similarity(a, b) < self.threshold:
                self.stat_update("rejected_pairs")
                continue
            parent.setdefault(a, a)
            parent.setdefault(b, b)
            low, high = sorted((root_a, root_b))
            parent[high] = low
        return {node: find(node) for node in parent}

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        assert world_size == 1, "the near-dup cluster pass runs as a single task"
        num_hashes = self.config.num_buckets * self.config.hashes_per_bucket
        docs = _Docs(self.docs_dir, num_hashes, np.dtype(self.config.hash_config.np_dtype))
        with self.track_time():
            roots = self.clusters(docs)
            best: dict[Node, tuple] = {}
            for node, root in roots.items():
                key = keep_key(docs.record(node), node, self.keep)
                if root not in best or key < best[root]:
                    best[root] = key
            self.stat_update("clusters", value=len(best))
            logger.info(f"{len(roots)} documents in {len(best)} near-duplicate clusters")
            out = Path(self.remove_dir)
            out.mkdir(parents=True, exist_ok=True)
            for old in out.glob("*.remove"):
                old.unlink()
            lines: dict[int, list[str]] = {}
            for node in sorted(roots):
                kept_key = best[roots[node]]
                kept = kept_key[-1]
                if node == kept:
                    continue
                similarity = round(docs.similarity(node, kept), 3)
                lines.setdefault(node[0], []).append(json.dumps([node[1], kept_key[-2], similarity]) + "\n")
                self.stat_update("to_remove")
            for rank, rows in lines.items():
                atomic_write_text(out / f"{rank:05d}.remove", "".join(rows))
