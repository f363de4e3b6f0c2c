"""Benchmark decontamination: drop documents that share long word n-grams with evaluation sets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import xxhash
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.inputs import expand_inputs, open_input

_TOKEN = re.compile(r"[^\W_]+")


def ngram_hashes(text: str, n: int) -> set[int]:
    """64-bit hashes of the lower-cased word n-grams of a text (letters and digits only)."""
    words = _TOKEN.findall(text.lower())
    return {xxhash.xxh3_64_intdigest(" ".join(words[i : i + n]).encode()) for i in range(len(words) - n + 1)}


def benchmark_texts(value: object, min_chars: int = 20) -> Iterator[str]:
    """Every string of at least `min_chars` characters inside a JSON value (questions, options, contexts)."""
    if isinstance(value, str):
        if len(value) >= min_chars:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from benchmark_texts(item, min_chars)
    elif isinstance(value, list):
        for item in value:
            yield from benchmark_texts(item, min_chars)


def load_benchmark(path: str) -> Iterator[str]:
    """Texts of one benchmark file: a JSON document or JSON lines."""
    with open_input(path, "rt") as handle:
        raw = handle.read()
    try:
        yield from benchmark_texts(json.loads(raw))
    except json.JSONDecodeError:
        for line in raw.splitlines():
            if line.strip():
                yield from benchmark_texts(json.loads(line))


class Decontaminator(BaseFilter):
    """Excludes a document when it shares at least `min_matches` word `n`-grams with a benchmark.

    Benchmarks are JSON or JSONL files (any schema: every long string in them counts, which
    covers questions, answer options and PubMedQA's abstract contexts). The reason names the
    benchmark file the first match came from.
    """

    name = "🧪 decontamination"

    def __init__(
        self,
        benchmarks: list[str],
        n: int = 13,
        min_matches: int = 1,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.files = expand_inputs(benchmarks, (".json", ".jsonl", ".json.gz", ".jsonl.gz"))
        self.n = n
        self.min_matches = min_matches
        self._index: dict[int, str] | None = None

    @property
    def index(self) -> dict[int, str]:
        """n-gram hash -> benchmark name, built on first use (in the worker that needs it)."""
        if self._index is None:
            self._index = {}
            for path in self.files:
                name = Path(path).name.split(".")[0]
                for text in load_benchmark(path):
                    for value in ngram_hashes(text, self.n):
                        self._index.setdefault(value, name)
        return self._index

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        matches = [self.index[h] for h in ngram_hashes(doc.text, self.n) if h in self.index]
        if len(matches) >= self.min_matches:
            doc.metadata["contamination_matches"] = len(matches)
            return False, f"benchmark_{min(matches)}"
        return True
