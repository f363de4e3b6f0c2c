"""The train/validation split by document and the record of what the mix selected (`selection.parquet`).

The record holds one row per selected distinct document, sorted by source and id: source, id, split and
copies (how many times the mix repeats it). Together with each output shard's `.docs.parquet` (the ids in
shard order) it says exactly which documents went where; it is kept small for very large corpora (about
5 bytes a row once zstd has worked on sorted ids) and written atomically with its sha256 in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medcorpus.io.atomic import atomic_open, atomic_write_text
from medcorpus.mixers.plan import SourceStock, source_rng

SELECTION = "selection.parquet"
SPLITS = ("train", "valid")


def split_by_document(chosen: np.ndarray, fraction: float, seed: int, name: str) -> np.ndarray:
    """True for each pick in `chosen` whose document is in the validation split.

    A seeded `fraction` (rounded) of the distinct documents of this group goes to validation, with
    every repeat of it, so no document is in both splits.
    """
    if fraction <= 0 or len(chosen) == 0:
        return np.zeros(len(chosen), dtype=bool)
    distinct = np.unique(chosen)
    count = int(round(fraction * len(distinct)))
    held_out = distinct[source_rng(seed, f"__validation__:{name}").permutation(len(distinct))[:count]]
    return np.isin(chosen, held_out)


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temporary name, then rename)."""
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))


def write_selection(
    folder: Path, groups: list[SourceStock], group_of: np.ndarray, index_of: np.ndarray, valid: np.ndarray
) -> dict:
    """Write `selection.parquet` (one row per distinct selected document) and return {path, rows, bytes, sha256}."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from medcorpus.io.hashing import sha256_file

    tables = []
    for g, group in enumerate(groups):
        mine = group_of == g
        if not mine.any():
            continue
        indices, copies = np.unique(index_of[mine], return_counts=True)
        held_out = np.zeros(len(group), dtype=bool)
        held_out[index_of[mine & valid]] = True
        ids = group.ids.take(indices) if not isinstance(group.ids, list) else group.id_list(indices)
        tables.append(
            pa.table(
                {
                    "source": pa.DictionaryArray.from_arrays(group.member[indices], group.members).cast(pa.string()),
                    "id": pa.array(ids, pa.large_string()),
                    "split": pa.DictionaryArray.from_arrays(held_out[indices].astype(np.int8), SPLITS).cast(
                        pa.string()
                    ),
                    "copies": pa.array(copies.astype(np.int32)),
                }
            )
        )
    schema = pa.schema(
        [("source", pa.string()), ("id", pa.large_string()), ("split", pa.string()), ("copies", pa.int32())]
    )
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    table = table.take(pc.sort_indices(table, sort_keys=[("source", "ascending"), ("id", "ascending")]))
    table = table.cast(pa.schema([field.with_type(pa.string()) if field.name == "id" else field for field in schema]))
    path = folder / SELECTION
    with atomic_open(path) as handle:
        pq.write_table(table, handle, compression="zstd", row_group_size=1 << 20)
    return {"path": SELECTION, "rows": table.num_rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
