"""What every stage shares: where it writes, in which format, with how many tasks, counting which tokens.

A stage builder asks its `StageContext` for the pieces around its own steps (readers of its inputs,
the document writer, the exclusion writer, the stage counter) instead of rebuilding them, so the
builder says only what differs. The folder layout it hands out is the one `stages.py` documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.io.formats import DOCUMENTS, make_reader, make_writer
from medcorpus.run.config import TokenizerConfig
from medcorpus.run.counts import StageCounter
from medcorpus.run.deferred import ChangeSettler, Settlement, SettlingWriter


@dataclass(frozen=True)
class StageContext:
    """One stage's output folder `out`, intermediate format, task count and (optional) token counting."""

    out: str
    fmt: str = "parquet"
    tasks: int = 1
    tokenizer: TokenizerConfig | None = None
    settlement: Settlement | None = None  # token counts deferred to the tokenize stage (`deferred.py`)

    def path(self, *parts: str) -> str:
        """A path inside the stage's folder."""
        return str(Path(self.out, *parts))

    def reader(self, folder: str) -> BaseDiskReader:
        """A reader of the documents another stage wrote to `folder`."""
        return make_reader(folder, self.fmt)

    def writer(self, filename: str = DOCUMENTS, folder: str | None = None) -> DiskWriter:
        """The writer of kept documents (into the stage folder, or `folder` for work files)."""
        return make_writer(folder or self.out, self.fmt, filename)

    def excluded(self, filename: str = DOCUMENTS, reason: str | None = None) -> DiskWriter:
        """The writer of removed documents, into `excluded/`, with `reason` where a step gives none (settling
        their deferred token counts first)."""
        writer = make_writer(self.path("excluded"), self.fmt, filename, reason)
        if self.settlement is None:
            return writer
        return SettlingWriter(writer, self.settlement, self.settlement.position(self.path("stats")))

    def counter(self, sub: str = "") -> StageCounter:
        """The stage counter, writing into `stats/` (or `stats/<sub>`)."""
        stats = self.path("stats", sub) if sub else self.path("stats")
        if self.tokenizer is None:
            return StageCounter(stats)
        tokenizer = self.tokenizer
        return StageCounter(stats, tokenizer.name, tokenizer.add_bos, tokenizer.add_eos, self.settlement)

    def settler(self) -> list[PipelineStep]:
        """What a stage puts before writing its documents to a work folder ahead of its counter: the settling of
        texts changed so far (`deferred.py`), when counts are deferred."""
        return [] if self.settlement is None else [ChangeSettler(self.settlement, self.path("stats"))]

    def tail(self, filename: str = DOCUMENTS, sub: str = "") -> list[PipelineStep]:
        """What ends every pipeline that outputs documents: the counter, then the writer."""
        return [self.counter(sub), self.writer(filename)]
