"""Exact deduplication within and across sources, on datatrove's three-stage exact dedup.

Texts are compared after normalisation (NFKC, case-folded, whitespace collapsed), so copies
that differ only in spacing or case are duplicates. Of each group of copies the one from the
source listed first in `priority` is kept (then the first read).
"""

from __future__ import annotations

import unicodedata

from datatrove.data import Document
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)
from datatrove.pipeline.writers.disk_base import DiskWriter


def normalized_text(doc: Document) -> bytes:
    """The form of a text that exact deduplication compares (UTF-8, as datatrove's hashes take bytes)."""
    # str.split() splits on exactly the characters `\s` matches: runs of whitespace become one space
    return " ".join(unicodedata.normalize("NFKC", doc.text).casefold().split()).encode("utf-8")


class SourcePriority:
    """Priority of a document for datatrove's dedup (higher is kept): by position in a source list."""

    def __init__(self, priority: list[str]):
        self.ranks = {source: len(priority) - i + 1 for i, source in enumerate(priority)}

    def __call__(self, doc: Document) -> int:
        return self.ranks.get(doc.metadata.get("source"), 1)


def exact_dedup_steps(
    signatures_dir: str, duplicates_dir: str, priority: list[str], exclusion_writer: DiskWriter | None = None
) -> tuple[ExactDedupSignature, ExactFindDedups, ExactDedupFilter]:
    """The three datatrove steps: hash every document, find the copies, drop them.

    The first and last run behind identical readers with the same number of tasks;
    the middle one runs alone (one task).
    """
    config = ExactDedupConfig(content_getter=normalized_text, document_priority=SourcePriority(priority))
    return (
        ExactDedupSignature(signatures_dir, config=config),
        ExactFindDedups(signatures_dir, duplicates_dir, config=config),
        ExactDedupFilter(duplicates_dir, config=config, exclusion_writer=exclusion_writer),
    )
