"""Exact deduplication within and across sources, on datatrove's three-stage exact dedup.

Texts are compared after normalisation (NFKC, case-folded, whitespace collapsed), so copies
that differ only in spacing or case are duplicates. Of each group of copies the one from the
source listed first in `priority` is kept (then the first read).

Two fields can be compared, in one pass of each stage: `text` (the whole text; an instruction
example's prompt and answers) and `prompt` (`prompt_of(doc)`: an instruction example's user turns,
the text of any other document). Each field has its own signatures and duplicate lists under
`<work>/<field>`. The find stage runs on `text` first; the `prompt` signatures of the copies it found
are then left out before copies of prompts are looked for, so every group keeps one document. The
copies are dropped with `filter_reason` `exact_duplicate` (same text) or `duplicate_prompt` (same
prompt, other answer); a kept document's `duplicate_count` is the number of copies dropped for it.
"""

from __future__ import annotations

import contextlib
import unicodedata
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupSignature,
    ExactFindDedups,
    get_sig_dtype,
)
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import ExtensionHelperSD, StatHints

from medcorpus.documents import prompt_of

FIELDS = ("text", "prompt")  # the find stage's order: a copy of the whole text is named as such first
REASONS = {"text": "exact_duplicate", "prompt": "duplicate_prompt"}


def normalized(text: str) -> bytes:
    """The form of a text that exact deduplication compares (UTF-8, as datatrove's hashes take bytes)."""
    # str.split() splits on exactly the characters `\s` matches: runs of whitespace become one space
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).encode("utf-8")


def normalized_text(doc: Document) -> bytes:
    """The compared form of a document's text."""
    return normalized(doc.text)


def normalized_prompt(doc: Document) -> bytes:
    """The compared form of a document's prompt (`prompt_of`)."""
    return normalized(prompt_of(doc))


GETTERS = {"text": normalized_text, "prompt": normalized_prompt}


class SourcePriority:
    """Priority of a document for datatrove's dedup (higher is kept): by position in a source list."""

    def __init__(self, priority: list[str]):
        self.ranks = {source: len(priority) - i + 1 for i, source in enumerate(priority)}

    def __call__(self, doc: Document) -> int:
        return self.ranks.get(doc.metadata.get("source"), 1)


def check_fields(fields: list[str]) -> list[str]:
    """`fields` in the find stage's order; ValueError for an unknown, repeated or missing field."""
    if not fields or len(set(fields)) != len(fields) or set(fields) - set(FIELDS):
        raise ValueError(f"dedup fields must list one or both of {list(FIELDS)} once each, got {fields!r}")
    return [field for field in FIELDS if field in fields]


def _read(folder: str | Path, rank: int, extension: str, dtype) -> np.ndarray:
    """One task's records from a find stage's output (datatrove's layout: `<finder rank>/<task rank><ext>`)."""
    found = [np.fromfile(path, dtype=dtype) for path in sorted(Path(folder).glob(f"*/{rank:05d}{extension}"))]
    return np.concatenate(found) if found else np.zeros(0, dtype=dtype)


def read_duplicates(folder: str | Path, rank: int) -> np.ndarray:
    """Sorted positions (in task `rank`'s stream) of the documents a find stage marked as copies."""
    return np.sort(_read(folder, rank, ExtensionHelperSD.stage_2_duplicates, "<u4"))


def read_counts(folder: str | Path, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of the kept documents of task `rank` that have copies, and their numbers of copies."""
    rows = np.sort(_read(folder, rank, ExtensionHelperSD.stage_2_counts, [("doc", "<u4"), ("count", "<u4")]))
    return rows["doc"], rows["count"]


class _Cursor:
    """Values by stream position, read in increasing position order (0 where a position has none)."""

    def __init__(self, positions: np.ndarray, values: np.ndarray | None = None):
        self.positions = positions.tolist()
        self.values = values.tolist() if values is not None else [1] * len(self.positions)
        self.next = 0

    def get(self, position: int) -> int:
        while self.next < len(self.positions) and self.positions[self.next] < position:
            self.next += 1
        found = self.next < len(self.positions) and self.positions[self.next] == position
        return self.values[self.next] if found else 0


def signed_ahead(step: PipelineStep, rank: int, world_size: int) -> bool:
    """Whether the stage before signed task `rank`'s documents for this signature step on their way out
    (`step.ahead`, `run/ahead.py`); if so they are counted as the step's own and nothing need be read."""
    signed = step.ahead.signed(rank, world_size) if step.ahead is not None else None
    if signed is not None:
        step.stat_update(StatHints.total, value=signed)
    return signed is not None


class _Signer:
    """One task's signatures, a document at a time (its position: the order `add` is called in); saved when the
    `with` block around the adding ends without an error."""

    def __init__(self, steps: dict[str, ExactDedupSignature], rank: int):
        self.steps, self.rank, self.position = steps, rank, 0
        self.signatures: dict[str, list] = {field: [] for field in steps}

    def add(self, doc: Document) -> None:
        for field, step in self.steps.items():
            self.signatures[field].extend(step.get_hashes(doc, self.position))
        self.position += 1

    def __enter__(self) -> _Signer:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            for field, step in self.steps.items():
                step.save_hashes(self.rank, self.signatures[field])


class FieldSignatures(PipelineStep):
    """Stage 1: datatrove's signature of every document, per field, into `<signatures_dir>/<field>`.

    With `ahead` (`run/ahead.py`) a task whose documents the stage before signed on their way out reads
    nothing."""

    type = "🫂 - DEDUPS"
    name = "exact-dedup signatures"

    def __init__(self, signatures_dir: str, configs: dict[str, ExactDedupConfig]):
        super().__init__()
        self.steps = {
            field: ExactDedupSignature(f"{signatures_dir}/{field}", config) for field, config in configs.items()
        }
        self.ahead = None

    def signer(self, rank: int) -> _Signer:
        """A task's signatures, added a document at a time in a `with` block and saved at its end."""
        return _Signer(self.steps, rank)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> None:
        if signed_ahead(self, rank, world_size):  # the readers before this step are never started
            return
        with self.track_time(), self.signer(rank) as signer:
            for doc in data:
                self.stat_update(StatHints.total)
                signer.add(doc)


class WithoutFound(PipelineStep):
    """Between two find stages: copies a field's signature files without the documents already found as copies.

    Removing rows keeps each file sorted, as the find stage needs it.
    """

    type = "🫂 - DEDUPS"
    name = "exact-dedup prune"

    def __init__(self, signatures_dir: str, found_dirs: list[str], output_dir: str, config: ExactDedupConfig):
        super().__init__()
        self.signatures_dir, self.found_dirs, self.output_dir = Path(signatures_dir), found_dirs, Path(output_dir)
        self.dtype = get_sig_dtype(config.hash_config)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> None:
        for path in sorted(self.signatures_dir.glob("*/*" + ExtensionHelperSD.stage_1_signature)):
            task = int(path.name.removesuffix(ExtensionHelperSD.stage_1_signature))
            rows = np.fromfile(path, dtype=self.dtype)
            found = np.concatenate([read_duplicates(folder, task) for folder in self.found_dirs])
            kept = rows[~np.isin(rows["doc"], found)]
            self.stat_update("pruned", value=len(rows) - len(kept))
            target = self.output_dir / path.relative_to(self.signatures_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            kept.tofile(target)


class FieldDedupFilter(PipelineStep):
    """Stage 3: drops the copies the find stage listed for this task, with the reason of the first field that
    found them; the others get `duplicate_count`."""

    type = "🫂 - DEDUPS"
    name = "exact-dedup filter"

    def __init__(self, duplicates_dir: str, fields: list[str], exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.duplicates_dir = duplicates_dir
        self.fields = check_fields(fields)
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folders = [f"{self.duplicates_dir}/{field}" for field in self.fields]
        found = [_Cursor(read_duplicates(folder, rank)) for folder in folders]
        counts = [_Cursor(*read_counts(folder, rank)) for folder in folders]
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            for index, doc in enumerate(data):
                self.stat_update(StatHints.total)
                field = next((field for field, copies in zip(self.fields, found) if copies.get(index)), None)
                if field is not None:
                    doc.metadata["filter_reason"] = REASONS[field]
                    self.stat_update(StatHints.dropped, f"dropped_{REASONS[field]}")
                    if writer:
                        writer.write(doc, rank=rank)
                    continue
                doc.metadata["duplicate_count"] = sum(count.get(index) for count in counts)
                self.stat_update(StatHints.forwarded)
                self.update_doc_stats(doc)
                yield doc


def exact_dedup_steps(
    signatures_dir: str,
    duplicates_dir: str,
    priority: list[str],
    exclusion_writer: DiskWriter | None = None,
    fields: list[str] = ("text",),
) -> tuple[FieldSignatures, list[PipelineStep], FieldDedupFilter]:
    """The three stages: hash every document (per field), find the copies, drop them.

    The first and last run behind identical readers with the same number of tasks; the middle
    one (a list of steps: datatrove's find per field, pruning between them) runs alone (one task).
    """
    fields = check_fields(list(fields))
    ranks = SourcePriority(priority)
    configs = {field: ExactDedupConfig(content_getter=GETTERS[field], document_priority=ranks) for field in fields}
    find: list[PipelineStep] = []
    for number, field in enumerate(fields):
        signatures = f"{signatures_dir}/{field}"
        if number:  # leave out the documents an earlier field already found
            earlier = [f"{duplicates_dir}/{name}" for name in fields[:number]]
            find.append(WithoutFound(signatures, earlier, f"{signatures_dir}/{field}.unique", configs[field]))
            signatures += ".unique"
        find.append(ExactFindDedups(signatures, f"{duplicates_dir}/{field}", config=configs[field]))
    filter_step = FieldDedupFilter(duplicates_dir, fields, exclusion_writer)
    return FieldSignatures(signatures_dir, configs), find, filter_step
