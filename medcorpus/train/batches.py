"""Micro-batches from a BlendedWindows, read ahead on a background thread, each with the resume state after it.

The dataset position moves as the reader thread runs ahead, so checkpoints must save the state that
comes with the last batch the trainer actually consumed, never `windows.state_dict()` directly.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np

from medcorpus.train.blend import BlendedWindows


@dataclass
class Batch:
    tokens: np.ndarray  # (micro_batch, seq_len + 1) int64
    ids: list[tuple[int, int]]  # (set, window) of each row
    boundaries: list[np.ndarray] | None  # document starts per row, when the dataset returns them
    state: dict  # dataset state after this batch: resuming from it continues with the next batch
    mask: np.ndarray | None = None  # (micro_batch, seq_len + 1) uint8 loss mask of SFT rows (1 = trained on)


def batches(windows: BlendedWindows, micro_batch: int):
    """Endless micro-batches of `micro_batch` windows (epochs roll over)."""
    if len(windows) == 0:
        raise ValueError("no windows for this rank: the shards are too small for seq_len and world size")
    stream = _endless(windows)
    while True:
        rows = [next(stream) for _ in range(micro_batch)]
        yield Batch(
            tokens=np.stack([row["tokens"] for row in rows]),
            ids=[row["id"] for row in rows],
            boundaries=[row["boundaries"] for row in rows] if windows.return_boundaries else None,
            state=windows.state_dict(),
            mask=np.stack([row["mask"] for row in rows]) if windows.sft else None,
        )


def _endless(windows: BlendedWindows):
    while True:
        yield from windows


class Prefetcher:
    """Runs `batches(...)` on a daemon thread, `depth` batches ahead; iterate it like the generator.

    `transform`, when given, also runs on the thread (e.g. copying into pinned memory for the GPU).
    """

    def __init__(self, source, depth: int = 4, transform=None):
        self._transform = transform
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True, name="medcorpus-batches")
        self._thread.start()

    def _run(self, source) -> None:
        try:
            for item in source:
                if self._transform is not None:
                    item = self._transform(item)
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as error:  # handed to the consumer, raised there
            self._queue.put(error)

    def __iter__(self):
        return self

    def __next__(self) -> Batch:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
