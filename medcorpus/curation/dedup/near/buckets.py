"""Pass 2 of near-duplicate removal: the matching signatures of one band, found with numpy.

datatrove's `MinhashDedupBuckets` merges the band's sorted signature files through a Python heap, one record at a
time. With one task per band and no index (how `pipeline.py` runs it) the same pairs come from sorting all the
band's records at once by (signature, file, document) and pairing each record with the one before it when their
signatures are equal: the `.dups` file is byte for byte datatrove's (tested), as are its `total_matches`. Other
set-ups (several tasks per band, an index) run datatrove's own code.
"""

from __future__ import annotations

import numpy as np
from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets, _mersenne_prime


class NearDedupBuckets(MinhashDedupBuckets):
    """datatrove's bucket pass, vectorised for one task per band without an index."""

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> None:
        if world_size != self.config.num_buckets or self.index_folder:
            return super().run(data, rank, world_size)
        hash_config = self.config.hash_config
        rows = self.config.hashes_per_bucket
        fields = [(f"h{i}", f"<{hash_config.struct_format}") for i in range(rows)] + [("doc", "<u4")]
        with self.track_time():
            files = self.input_folder.list_files(subdirectory=f"bucket_{rank:03d}")
            parts = []
            for number, path in enumerate(files):
                with self.input_folder.open(path, mode="rb") as handle:
                    records = np.frombuffer(handle.read(), dtype=np.dtype(fields))
                stem = int(path.rsplit("/", 1)[-1].removesuffix(".minhash.sig"))
                parts.append((records, number, stem))
            pairs = self._pairs(parts, rows, hash_config.precision)
            with self.output_folder.open(f"{rank:05d}_00.dups", mode="wb") as out:
                out.write(pairs.astype("<u4").tobytes())
            if len(pairs):
                self.stat_update("total_matches", value=len(pairs))

    @staticmethod
    def _pairs(parts: list[tuple[np.ndarray, int, int]], rows: int, precision: int) -> np.ndarray:
        """(file stem, doc, file stem, doc) of each record whose signature equals the one sorted before it."""
        if not parts:
            return np.zeros((0, 4), dtype=np.uint64)
        records = np.concatenate([records for records, _, _ in parts])
        file_ids = np.concatenate([np.full(len(r), number, dtype=np.int64) for r, number, _ in parts])
        stems = np.array([stem for _, _, stem in parts], dtype=np.uint64)
        # as datatrove's reader: a file stops at the first signature whose first hash reaches the limit
        limit = _mersenne_prime if precision == 64 else np.iinfo(records["h0"].dtype).max
        keep = records["h0"] < limit
        records, file_ids = records[keep], file_ids[keep]
        order = np.lexsort([records["doc"], file_ids] + [records[f"h{i}"] for i in reversed(range(rows))])
        records, file_ids = records[order], file_ids[order]
        same = np.ones(max(len(records) - 1, 0), dtype=bool)
        for i in range(rows):
            same &= records[f"h{i}"][1:] == records[f"h{i}"][:-1]
        later = np.flatnonzero(same) + 1
        earlier = later - 1
        columns = [stems[file_ids[earlier]], records["doc"][earlier], stems[file_ids[later]], records["doc"][later]]
        return np.stack([column.astype(np.uint64) for column in columns], axis=1)
