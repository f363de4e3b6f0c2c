"""Loading what tokenized shards offer, per source, as compact arrays (millions of documents fit in little memory)."""

from __future__ import annotations

import numpy as np

from medcorpus.mixers.plan import SourceStock
from medcorpus.tokenize.shard_reader import ShardReader, list_shards
from medcorpus.tokenize.shards import SIDECAR_SUFFIX, ShardFormatError


def read_sidecar(reader: ShardReader, columns: list[str] | None = None):
    """The shard's provenance sidecar as an Arrow table (id, source, category, restricted when recorded), or
    only `columns` of it.

    Read with pyarrow rather than through `ShardReader`'s Python lists, so ids stay in Arrow buffers.
    """
    import pyarrow.parquet as pq

    path = reader.prefix + SIDECAR_SUFFIX
    try:
        table = pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise ShardFormatError(f"missing provenance sidecar {path}") from None
    except Exception as error:  # pyarrow raises several types for damaged files
        raise ShardFormatError(
            f"corrupt or truncated shard file {path}: unreadable parquet ({type(error).__name__})"
        ) from None
    lengths_differ = "tokens" in table.column_names and not np.array_equal(
        table.column("tokens").to_numpy(), reader.lengths
    )
    if table.num_rows != len(reader) or lengths_differ:
        raise ShardFormatError(f"corrupt or truncated shard file {path}: rows do not match the index")
    return table


def open_shards(folders: list[str]) -> list[ShardReader]:
    """A reader of every shard under `folders`, in order."""
    return [ShardReader(prefix) for folder in folders for prefix in list_shards(folder)]


def source_totals(folders: list[str], readers: list[ShardReader] | None = None) -> dict[str, tuple[str, int]]:
    """(category, tokens) per source of the tokenized `folders` (or of their already open `readers`), from two
    sidecar columns and the indexes."""
    totals: dict[str, tuple[str, int]] = {}
    for reader in open_shards(folders) if readers is None else readers:
        table = read_sidecar(reader, ["source", "category"])
        for source, category, tokens in zip(
            table.column("source").to_pylist(), table.column("category").to_pylist(), reader.lengths.tolist()
        ):
            totals[source] = (category, totals.get(source, (category, 0))[1] + int(tokens))
    return totals


def load_stocks(folders: list[str]) -> tuple[list[ShardReader], dict[str, SourceStock], set[str]]:
    """Every tokenized document under `folders`, grouped by source and sorted by id (then length).

    Sorting makes the stock independent of how many tasks wrote the input shards. Also returns
    the sources with documents from shards that record no restricted flags (written by older versions).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    readers = open_shards(folders)
    names: dict[tuple[str, str], int] = {}  # (source, category) -> code
    ids, codes, flags, shards, positions = [], [], [], [], []
    unflagged: set[str] = set()
    for r, reader in enumerate(readers):
        table = read_sidecar(reader)
        pairs = pc.binary_join_element_wise(table.column("source"), table.column("category"), "\x00")
        encoded = pc.dictionary_encode(pairs).combine_chunks()
        keys = [tuple(key.split("\x00")) for key in encoded.dictionary.to_pylist()]
        mapping = np.array([names.setdefault(key, len(names)) for key in keys], dtype=np.int32)
        codes.append(mapping[encoded.indices.to_numpy()].astype(np.int32) if len(mapping) else np.zeros(0, np.int32))
        if "restricted" in table.column_names:
            flags.append(table.column("restricted").to_numpy().astype(bool))
        else:
            unflagged.update(pc.unique(table.column("source")).to_pylist())
            flags.append(np.zeros(table.num_rows, dtype=bool))
        ids.append(table.column("id").combine_chunks().cast(pa.large_string()))
        shards.append(np.full(table.num_rows, r, dtype=np.int32))
        positions.append(np.arange(table.num_rows, dtype=np.int64))
        del table, pairs, encoded
    stocks: dict[str, SourceStock] = {}
    if not readers:
        return readers, stocks, unflagged
    lengths = np.concatenate([reader.lengths.astype(np.int64) for reader in readers])
    code = np.concatenate(codes)
    keyed = pa.table({"code": code, "id": pa.concat_arrays(ids), "tokens": lengths})
    del ids, codes
    order = pc.sort_indices(keyed, sort_keys=[("code", "ascending"), ("id", "ascending"), ("tokens", "ascending")])
    order = order.to_numpy()
    all_ids = keyed.column("id").combine_chunks().take(order)
    del keyed
    code, lengths = code[order], lengths[order]
    restricted = np.concatenate(flags)[order]
    locations = np.stack([np.concatenate(shards)[order], np.concatenate(positions)[order]], axis=1)
    categories: dict[str, str] = {}
    for (source, category), c in sorted(names.items()):
        if categories.setdefault(source, category) != category:
            raise ShardFormatError(f"source {source!r} is filed under two categories: {categories[source]}, {category}")
        start, stop = np.searchsorted(code, c, "left"), np.searchsorted(code, c, "right")
        stocks[source] = SourceStock(
            source=source,
            category=category,
            ids=all_ids.slice(start, stop - start),
            lengths=lengths[start:stop],
            locations=locations[start:stop],
            restricted=restricted[start:stop],
        )
    return readers, stocks, unflagged
