"""Base class of every source reader: sharded file lists, and bad records counted, logged and kept aside."""

from __future__ import annotations

import contextlib
import os
import zlib
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers.base import BaseReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger
from tqdm import tqdm

from medcorpus.documents import url_hash
from medcorpus.io.formats import show_progress
from medcorpus.io.noted_stats import NotedDocStats
from medcorpus.paths import expand_inputs

# Errors that make the rest of a file unreadable; anything else is a bug and propagates.
FILE_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, SyntaxError)


class SourceReader(NotedDocStats, BaseReader):
    """Reads one source's files and yields Documents.

    Subclasses set `source`, `category`, `suffixes` and implement `read_file`, calling
    `reject` for every record they cannot turn into a document. A rejected record is
    counted by reason, logged with its file (never with its text: one summary line per file at
    warning level) and written to the exclusion writer as a row with its id, file and reason, so
    nothing disappears silently. Without an exclusion writer each record also gets a debug line
    (with one, the row is that record's trace: a debug line per record cost a 6x PubMed run ~4 CPU-s).
    """

    type = "📖 - READER"
    source: str = ""
    category: str = ""
    suffixes: tuple[str, ...] = ()

    def __init__(self, inputs: list[str], exclusion_writer: DiskWriter | None = None, limit: int = -1):
        super().__init__(limit=limit)
        self.files = expand_inputs(inputs, self.suffixes)
        self.exclusion_writer = exclusion_writer
        self._excluded: DiskWriter | None = None
        self._rank = 0
        self._rejected = 0
        self._file_rejects: Counter[str] = Counter()

    @abstractmethod
    def read_file(self, path: str) -> Iterator[Document]:
        """Yield the documents of one input file; call `self.reject` for each bad record."""

    def reject(self, path: str, reason: str, doc_id: str | None = None) -> None:
        """Count, log (file and reason only) and keep aside one record that could not be read."""
        self._rejected += 1
        self._file_rejects[reason] += 1
        self.stat_update("rejected", f"rejected_{reason}")
        name = os.path.basename(path)
        if self._excluded is None:
            logger.debug(f"{self.source}: skipped a record of {name}: {reason}" + (f" (id {doc_id})" if doc_id else ""))
        else:
            record_id = doc_id or f"{self.source}:bad:{url_hash(path, 8)}:{self._rejected}"
            metadata = {"source": self.source, "category": self.category, "file": name, "filter_reason": reason}
            self._excluded.write(Document(text="", id=record_id, metadata=metadata), self._rank)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        self._rank = rank
        shard = self.files[rank::world_size]
        writer = self.exclusion_writer or contextlib.nullcontext()
        progress = tqdm(desc=self.source, unit="doc", disable=not show_progress())
        try:
            yield from self._read_shard(shard, writer, progress)
        finally:
            self.add_noted_doc_stats()

    def _read_shard(self, shard: list[str], writer, progress) -> DocumentsPipeline:
        with writer as excluded, progress:
            self._excluded = excluded
            emitted = 0
            for path in shard:
                self.stat_update("input_files")
                try:
                    for document in self.read_file(path):
                        if self.limit != -1 and emitted >= self.limit:
                            return
                        self.update_doc_stats(document)
                        emitted += 1
                        progress.update()
                        yield document
                except FILE_ERRORS as error:
                    self.reject(path, f"unreadable_file:{type(error).__name__}")
                finally:
                    self._summarise(path)

    def _summarise(self, path: str) -> None:
        if self._file_rejects:
            counts = ", ".join(f"{reason} {count}" for reason, count in sorted(self._file_rejects.items()))
            logger.warning(
                f"{self.source}: {os.path.basename(path)}: skipped {self._file_rejects.total()} records ({counts})"
            )
            self._file_rejects.clear()
