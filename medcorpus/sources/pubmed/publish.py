"""Publishing the PubMed first pass as it is when the resolution removes nothing.

A PubMed source with update semantics or PMC links is read in two passes: the first parses into a work folder,
the second re-reads every document to drop the superseded, deleted and PMC-linked ones and writes the kept ones
with the stage's counts. When the resolution has nothing to drop (no PMID seen twice or deleted, no PMC full
text in the run: one baseline file, or several without overlap) the second pass would only copy: `PublishUnresolved`
moves the first pass's files into the stage folder instead and writes their counts (documents, characters per
source) from the Parquet columns, and the second pass finds nothing left to read. The files are the ones the second
pass would have written (the same names and documents; tested byte for byte).

Only used where the stage counter would not change the documents (token counts deferred to the tokenize stage,
or none) and the intermediate format is Parquet. Each file's counts are written before it is moved, so a task
killed half way and run again moves the rest and counts each file once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.io.atomic import atomic_write_text
from medcorpus.paths import flat_name


def nothing_to_resolve(resolved_file: str) -> bool:
    """Whether `ResolveVersions`' decisions drop no document: no PMID to settle, no PMC ids to link."""
    with np.load(resolved_file) as resolved:
        return not any(len(resolved[key]) for key in ("pmids", "pmc_pmids", "pmc_pmcids"))


def file_counts(path: Path, source: str, tokens: bool) -> dict:
    """A Parquet document file's counts as the stage counter writes them (`{source: {documents, characters}}`)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    documents = characters = 0
    with pq.ParquetFile(path) as parquet:  # a batch at a time: the task's memory stays flat
        for batch in parquet.iter_batches(batch_size=4096, columns=["text"]):
            documents += batch.num_rows
            characters += int(pc.sum(pc.utf8_length(batch.column(0))).as_py() or 0)
    counts = {"characters": characters, "documents": documents}
    return {source: counts | ({"tokens": 0} if tokens else {})} if documents else {}


class PublishUnresolved(PipelineStep):
    """After `ResolveVersions` (same task): when nothing is to be dropped, moves the first pass's document files
    into `output` and writes their counts into `stats_dir`; otherwise leaves them to the second pass."""

    name = "PubMed first pass published"
    type = "🔗 - LINK"

    def __init__(self, resolved_file: str, documents: str, output: str, stats_dir: str, tokens: bool):
        super().__init__()
        self.resolved_file = resolved_file
        self.documents = documents
        self.output = output
        self.stats_dir = stats_dir
        self.tokens = tokens

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data  # runs the resolution before its decisions are read
        if not nothing_to_resolve(self.resolved_file):
            return
        for path in sorted(Path(self.documents).glob("*/*.parquet")):
            relative = path.relative_to(self.documents)
            counts = file_counts(path, relative.parts[0], self.tokens)
            payload = json.dumps(counts, indent=1, sort_keys=True)
            atomic_write_text(Path(self.stats_dir, f"published-{flat_name(relative.as_posix())}.json"), payload)
            target = Path(self.output, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            self.stat_update("files_published")
