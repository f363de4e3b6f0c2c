"""Benchmark: shard write speed and PackedWindows read speed on a synthetic ~100M-token shard.

Usage: python benchmarks/bench_dataset.py [--tokens 100000000] [--seq-len 4096] [--folder /tmp/...] [--keep]
    [--loader-workers 2] [--micro-batch 8]
The shard is written once to --folder (reused when present with the same size) and read back in
shuffled window order, so the numbers include memmap slicing, shard lookup and the int64 copy.
Then 1..N loader processes (--loader-workers), each a data-parallel rank reading its own slice of a
two-set blend as stacked micro-batches (what the trainer consumes), report windows/s and tokens/s
per worker. Target: >= 50 M tokens/s per core.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

import numpy as np

from medcorpus.tokenize import ShardReader, ShardWriter, list_shards
from medcorpus.train import PackedWindows
from medcorpus.train.batches import batches
from medcorpus.train.blend import BlendedWindows


def write_synthetic(folder: str, tokens: int, shards: int, seed: int = 0) -> float:
    """Write `tokens` random tokens as documents of geometric length (mean ~600) over `shards` shards."""
    rng = np.random.default_rng(seed)
    per_shard = tokens // shards
    started = time.perf_counter()
    for shard in range(shards):
        with ShardWriter(os.path.join(folder, f"{shard:05d}"), 32000) as writer:
            pool = rng.integers(3, 32000, size=per_shard, dtype=np.uint16)
            lengths = rng.geometric(1 / 600, size=per_shard // 300 + 1)
            bounds = np.minimum(np.cumsum(lengths), per_shard)
            start = 0
            for number, stop in enumerate(bounds):
                if stop > start:
                    writer.add(pool[start:stop], f"synthetic:{shard}:{number}", "synthetic", "general")
                start = stop
                if start >= per_shard:
                    break
    return time.perf_counter() - started


def loader_worker(args: tuple) -> tuple[float, int]:
    """One rank of `world` reading `count` micro-batches from a blend of the shards: (seconds, windows)."""
    prefixes, seq_len, micro_batch, count, rank, world = args
    half = max(1, len(prefixes) // 2)
    sets = [(prefixes[:half], 2.0), (prefixes[half:] or prefixes[:half], 1.0)]
    windows = BlendedWindows(sets, seq_len=seq_len, seed=1, rank=rank, world_size=world)
    source = batches(windows, micro_batch)
    next(source)  # the epoch's order is computed once, before timing
    started = time.perf_counter()
    checksum = 0
    for _ in range(count):
        checksum += int(next(source).tokens[0, 0])
    return time.perf_counter() - started, count * micro_batch


def bench_loader_workers(folder: str, seq_len: int, micro_batch: int, windows: int, workers: int) -> None:
    from multiprocessing import get_context

    prefixes = list_shards(folder)
    count = max(1, windows // micro_batch)
    for world in sorted({1, workers}):
        with get_context("spawn").Pool(world) as pool:
            results = pool.map(loader_worker, [(prefixes, seq_len, micro_batch, count, r, world) for r in range(world)])
        per_worker = [read / seconds for seconds, read in results]
        slowest = min(per_worker)
        print(
            f"loader x{world}: {count * micro_batch:,} windows each as micro-batches of {micro_batch}; per worker "
            f"{slowest:,.0f} windows/s = {slowest * (seq_len + 1) / 1e6:.1f} M tokens/s (slowest); "
            f"all workers {sum(per_worker) * (seq_len + 1) / 1e6:.1f} M tokens/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=100_000_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--windows", type=int, default=20_000, help="windows to read (shuffled order)")
    parser.add_argument("--folder", default="/tmp/medcorpus_bench_dataset")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic shards afterwards")
    parser.add_argument("--loader-workers", type=int, default=2, help="loader processes for the per-worker figure")
    parser.add_argument("--micro-batch", type=int, default=8)
    args = parser.parse_args()

    needed = args.tokens * 2 * 1.1
    os.makedirs(args.folder, exist_ok=True)
    if shutil.disk_usage(args.folder).free < needed:
        print(f"SKIP: not enough free disk space in {args.folder} for {args.tokens:,} tokens")
        return
    existing = list_shards(args.folder)
    have = sum(ShardReader(prefix).total_tokens for prefix in existing) if existing else 0
    if have and abs(have - args.tokens) <= args.shards:
        print(f"reusing {len(existing)} shards in {args.folder} ({have:,} tokens)")
    else:
        shutil.rmtree(args.folder)
        seconds = write_synthetic(args.folder, args.tokens, args.shards)
        print(f"write: {args.tokens:,} tokens in {seconds:.2f} s = {args.tokens / seconds / 1e6:.1f} M tokens/s")

    started = time.perf_counter()
    windows = PackedWindows([args.folder], seq_len=args.seq_len, seed=0, return_boundaries=False)
    seconds = time.perf_counter() - started
    print(f"open: {len(windows.shards)} shards, {windows.num_windows:,} windows in {seconds:.3f} s")
    count = min(args.windows, len(windows))
    for label, boundaries in (("windows", False), ("windows+boundaries", True)):
        windows.return_boundaries = boundaries
        windows.load_state_dict({"epoch": 0, "sample_index": 0})
        iterator = iter(windows)
        started = time.perf_counter()
        checksum = 0
        for _ in range(count):
            checksum += int(next(iterator)["tokens"][0])
        seconds = time.perf_counter() - started
        tokens = count * (args.seq_len + 1)
        print(
            f"read {label}: {count:,} shuffled windows of {args.seq_len + 1} tokens in {seconds:.2f} s = "
            f"{tokens / seconds / 1e6:.1f} M tokens/s ({count / seconds:,.0f} windows/s; checksum {checksum})"
        )
    bench_loader_workers(
        args.folder, args.seq_len, args.micro_batch, min(args.windows, len(windows)), args.loader_workers
    )
    if not args.keep:
        shutil.rmtree(args.folder)


if __name__ == "__main__":
    main()
