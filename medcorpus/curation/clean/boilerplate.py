"""Boilerplate lines: lines that repeat across many documents of one source, found by frequency.

Three datatrove steps (see `stages.curation_stage`, the `boilerplate` option of `clean`):

1. `BoilerplateCounter` (every task): for each source, in how many documents each normalised line
   occurs (case-folded, digits as 0, spaces collapsed, so "Page 3 of 12" and "Page 4 of 12" are one
   line), keyed by a 64-bit hash. Only lines of at least `min_chars` characters are counted. Written to
   `<counts_dir>/<rank>.npz` (+ `.json` with each source's document count). Headings ("# ...") and lines
   of fewer than `min_words` words ("Materials and methods") are never counted: they are structure.
2. `BoilerplateFinder` (one task): sums the counts of every task and keeps, per source, the lines found
   in at least `max(min_documents, min_fraction x documents of that source)` documents: `lines.npz`.
3. `BoilerplateRemover` (every task): drops those lines from each document of that source (a document
   made only of them is left whole, for deduplication and the quality filter to judge).

Instruction examples (documents with turns) are neither counted nor changed: a line they share, such as
the constant instruction of a MedAlpaca set, is their template, not page furniture.

Memory is bounded: a task keeps at most `max_lines` distinct hashes (about 100 bytes each in a Python
dict, so 50 MB at the default 500,000). When a table grows past that, the hashes seen in the fewest
documents are dropped (lossy counting) until half remain; the largest count so dropped is kept with the
counts, so a line's document frequency is undercounted by at most that much per task. Boilerplate, by
definition frequent, stays in the table. The finder holds at most `tasks x max_lines` hashes (12 bytes
each, plus sorting space); the remover one set of the boilerplate hashes per source.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.curation.tallied_filter import TalliedFilter
from medcorpus.documents import replace_text, turns_of
from medcorpus.io.atomic import atomic_open, atomic_write_text

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
LINES_FILE = "lines.npz"
REPORT_FILE = "boilerplate.json"


def line_key(line: str, min_chars: int = 20, min_words: int = 4) -> int | None:
    """The hash of a line's normalised form, or None for a line never counted: shorter than `min_chars`
    characters or `min_words` words, or a Markdown heading (headings are structure, even when shared)."""
    normalised = _SPACES.sub(" ", _DIGITS.sub("0", line.casefold())).strip()
    if len(normalised) < min_chars or normalised.startswith("#") or normalised.count(" ") + 1 < min_words:
        return None
    return xxhash.xxh64_intdigest(normalised.encode("utf-8"))


def _source(doc: Document) -> str:
    return str(doc.metadata.get("source", "unknown"))


class BoilerplateCounter(PipelineStep):
    """Pass 1: document frequency of each (long enough) normalised line, per source, written per task."""

    type = "🧹 - CLEAN"
    name = "boilerplate counter"

    def __init__(self, counts_dir: str, min_chars: int = 20, min_words: int = 4, max_lines: int = 500_000):
        super().__init__()
        self.counts_dir = counts_dir
        self.min_chars = min_chars
        self.min_words = min_words
        self.max_lines = max_lines

    def _prune(self, table: Counter) -> int:
        floor = 0
        while len(table) > self.max_lines // 2:
            floor += 1
            for key in [key for key, count in table.items() if count <= floor]:
                del table[key]
        self.stat_update("boilerplate_pruned")
        return floor

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tables: dict[str, Counter] = {}
        documents: Counter = Counter()
        undercount: Counter = Counter()
        for doc in data:
            if turns_of(doc) is not None:
                yield doc
                continue
            source = _source(doc)
            documents[source] += 1
            table = tables.setdefault(source, Counter())
            keys = {line_key(line, self.min_chars, self.min_words) for line in doc.text.split("\n")}
            keys.discard(None)
            table.update(keys)
            if len(table) > self.max_lines:
                undercount[source] = max(undercount[source], self._prune(table))
            yield doc
        folder = Path(self.counts_dir)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for index, (_name, table) in enumerate(sorted(tables.items())):
            keys = np.fromiter(table.keys(), dtype=np.uint64, count=len(table))
            counts = np.fromiter(table.values(), dtype=np.uint32, count=len(table))
            order = np.argsort(keys)
            arrays[f"h{index}"], arrays[f"c{index}"] = keys[order], counts[order]
        meta = {
            source: {"index": i, "documents": documents[source], "undercount": undercount[source]}
            for i, source in enumerate(sorted(tables))
        }
        with atomic_open(folder / f"{rank:05d}.npz") as handle:
            np.savez(handle, **arrays)
        atomic_write_text(folder / f"{rank:05d}.json", json.dumps(meta, indent=1, sort_keys=True))


class BoilerplateFinder(PipelineStep):
    """Pass 2 (one task): lines at or above the document-frequency threshold of their source."""

    type = "🧹 - CLEAN"
    name = "boilerplate finder"

    def __init__(self, counts_dir: str, lines_dir: str, min_documents: int = 5, min_fraction: float = 0.01):
        super().__init__()
        self.counts_dir = counts_dir
        self.lines_dir = lines_dir
        self.min_documents = min_documents
        self.min_fraction = min_fraction

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank != 0:
            return
        per_source: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        documents: Counter = Counter()
        for meta_path in sorted(Path(self.counts_dir).glob("*.json")):
            with np.load(meta_path.with_suffix(".npz")) as arrays:
                for source, meta in json.loads(meta_path.read_text()).items():
                    documents[source] += meta["documents"]
                    pair = (arrays[f"h{meta['index']}"], arrays[f"c{meta['index']}"])
                    per_source.setdefault(source, []).append(pair)
        found, report = {}, {}
        for index, source in enumerate(sorted(per_source)):
            pairs = per_source[source]
            keys = np.concatenate([k for k, _ in pairs])
            counts = np.concatenate([c for _, c in pairs]).astype(np.int64)
            unique, inverse = np.unique(keys, return_inverse=True)
            totals = np.bincount(inverse, weights=counts, minlength=len(unique))
            threshold = max(self.min_documents, math.ceil(self.min_fraction * documents[source]))
            found[f"s{index}"] = unique[totals >= threshold]
            report[source] = {
                "index": index,
                "documents": documents[source],
                "threshold": threshold,
                "lines": int(len(found[f"s{index}"])),
            }
            self.stat_update("boilerplate_line_kinds", value=report[source]["lines"])
        folder = Path(self.lines_dir)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / LINES_FILE) as handle:
            np.savez(handle, **found)
        atomic_write_text(folder / REPORT_FILE, json.dumps(report, indent=1, sort_keys=True))
        yield from ()


class BoilerplateRemover(TalliedFilter):
    """Pass 3: removes each source's boilerplate lines.

    A document whose counted lines are all boilerplate is left whole: it is a copy of another document or
    a page of pure template, which deduplication and the quality filter judge (removing its lines would
    erase every copy of a document repeated `min_documents` times).
    """

    type = "🧹 - CLEAN"
    name = "boilerplate remover"

    def __init__(self, lines_dir: str, min_chars: int = 20, min_words: int = 4):
        super().__init__()
        self.lines_dir = lines_dir
        self.min_chars = min_chars
        self.min_words = min_words
        self._lines: dict[str, frozenset[int]] | None = None

    def lines(self) -> dict[str, frozenset[int]]:
        """The boilerplate hashes of each source (loaded once)."""
        if self._lines is None:
            folder = Path(self.lines_dir)
            report = json.loads((folder / REPORT_FILE).read_text())
            with np.load(folder / LINES_FILE) as arrays:
                self._lines = {s: frozenset(arrays[f"s{m['index']}"].tolist()) for s, m in report.items()}
        return self._lines

    def filter(self, doc: Document) -> bool:
        found = self.lines().get(_source(doc))
        if not found or turns_of(doc) is not None:
            return True
        lines = doc.text.split("\n")
        keys = [line_key(line, self.min_chars, self.min_words) for line in lines]
        boilerplate = [key is not None and key in found for key in keys]
        if not any(boilerplate):
            return True
        if all(flag for flag, key in zip(boilerplate, keys) if key is not None):
            self.stat_update("boilerplate_kept_whole")
            return True
        self.stat_update("changed_boilerplate")
        self.stat_update("boilerplate_lines_removed", value=sum(boilerplate))
        kept = "\n".join(line for line, flag in zip(lines, boilerplate) if not flag)
        replace_text(doc, _BLANK_LINES.sub("\n\n", kept).strip())
        return True


def boilerplate_pipelines(
    readers, cleaner: PipelineStep, out: str, fmt: str, options: dict, tasks: int, tail: list, settle: list = ()
) -> list[tuple[list[PipelineStep], int]]:
    """The clean stage with boilerplate removal: clean and count (writing to `work/cleaned`), find, remove.

    `readers` makes fresh readers of the stage's inputs; `tail` ends the last pipeline (counter, writer);
    `settle` runs before the cleaned documents are written to the work folder.
    """
    from medcorpus.io.formats import make_reader, make_writer

    work = Path(out) / "work"
    counts, lines, cleaned = str(work / "boilerplate_counts"), str(work / "boilerplate"), str(work / "cleaned")
    size = {"min_chars": options.get("min_chars", 20), "min_words": options.get("min_words", 4)}
    counter = BoilerplateCounter(counts, **size, max_lines=options.get("max_lines", 500_000))
    finder = BoilerplateFinder(counts, lines, options.get("min_documents", 5), options.get("min_fraction", 0.01))
    remover = BoilerplateRemover(lines, **size)
    return [
        (readers() + [cleaner, counter, *settle, make_writer(cleaned, fmt)], tasks),
        ([finder], 1),
        ([make_reader(cleaned, fmt), remover, *tail], tasks),
    ]
