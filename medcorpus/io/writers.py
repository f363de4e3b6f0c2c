"""datatrove's Parquet and JSONL writers, made crash-safe.

datatrove writes each output file in place, so a killed task leaves a truncated file under its
final name. These writers write `.<name>.tmp` instead and, only when the writer closes without
an error, check each file (its row count read back from disk), flush it and rename it into place.
A task whose writer failed leaves no file looking complete, and datatrove marks a task complete
only after its whole pipeline (these writers' checks included) has finished.
"""

from __future__ import annotations

import gzip
from abc import abstractmethod
from collections import Counter
from typing import IO

from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.utils.typeshelper import StatHints

from medcorpus.io.atomic import final_name, publish, remove_quietly, temp_name, with_path
from medcorpus.io.noted_stats import NotedDocStats, add_ones

# datatrove counts a writer's documents per output file under the file's name with this in place of the task's
# rank, so that every task adds to one label (`DiskWriter.write`)
STATS_RANK = "XXXXX"


class IncompleteWriteError(OSError):
    """A file read back after writing does not hold what was written."""


class AtomicFilesMixin(NotedDocStats):
    """Writes every output file under its temporary name and publishes it on a clean close."""

    def write(self, document, rank: int = 0, **kwargs):
        if kwargs or self.max_file_size > 0:
            self._write_switching(document, rank, **kwargs)
            return
        # one document in: the file worked out once per file and tag values, its handle kept while it is open, and
        # the counts datatrove keeps per document (`stat_update`, `update_doc_stats`) noted and added at close
        temp, label = self._file_names(document, rank)
        handles = self.__dict__.get("_handles")
        handle = None if handles is None else handles.get(temp)
        try:
            if handle is None:
                self._rows_written()[temp] += 0  # known before it is opened, so a failure (even opening it) removes it
                handle = self.__dict__.setdefault("_handles", {})[temp] = self._get_output_file_with_retry(temp)
            self._write(self.adapter(document), handle, temp)
        except OSError as error:  # name the file the user will look for, not its temporary name
            raise with_path(error, self._local(final_name(temp))) from error
        labels = self.__dict__.get("_labels")
        if labels is None:
            labels = self.__dict__["_labels"] = Counter()
        if label not in labels:  # created where datatrove's `write` would first add to them
            self.stats.stats[label], self.stats.stats[StatHints.total]
        labels[label] += 1
        self.update_doc_stats(document)

    def _write_switching(self, document, rank: int = 0, **kwargs):
        """datatrove's `write` (files switched at `max_file_size`, or names given per call), under temporary names."""
        temp = self._get_output_filename(document, rank, **kwargs)
        self._rows_written()[temp] += 0
        try:
            super().write(document, rank, **kwargs)
        except OSError as error:
            raise with_path(error, self._local(final_name(temp))) from error

    def _get_output_filename(self, document, rank: int | str = 0, **kwargs) -> str:
        """The file's temporary name."""
        return temp_name(super()._get_output_filename(document, rank, **kwargs))

    def _file_names(self, document, rank: int) -> tuple[str, str]:
        """(temporary name, datatrove's stats label) of a document's file: worked out once per rank and value of the
        name's other tags (one template substitution per file, not three per document), or every time for names
        that use the document's id or tags whose values are not strings or integers."""
        tags = self.__dict__.get("_name_tags")
        if tags is None:
            tags = self._name_tags = tuple(t for t in self.output_filename.get_identifiers() if t != "rank")
        metadata = document.metadata
        if len(tags) == 1 and tags[0] != "id" and type(key := metadata.get(tags[0])) is str:  # `${source}/${rank}`
            pass
        else:
            values = [metadata.get(tag) for tag in tags]
            if "id" in tags or any(type(value) not in (str, int) for value in values):
                return self._get_output_filename(document, rank), self._get_output_filename(document, STATS_RANK)
            key = values[0] if len(values) == 1 else "\x1f".join(map(str, values))
        # {rank: {tag values: names}}: plain keys, as datatrove saves its steps' attributes as JSON
        by_rank = self.__dict__.setdefault("_names", {}).setdefault(rank, {})
        names = by_rank.get(key)
        if names is None:
            names = by_rank[key] = (
                self._get_output_filename(document, rank),
                self._get_output_filename(document, STATS_RANK),
            )
        return names

    def _add_noted(self) -> None:
        """Add the counts noted since the last call to datatrove's stats, as `stat_update` and `update_doc_stats`
        would have one document at a time (the same numbers; each stat was created where they would create it)."""
        for label, count in (self.__dict__.pop("_labels", None) or {}).items():
            add_ones(self.stats.stats, label, count)
            add_ones(self.stats.stats, StatHints.total, count)
        self.add_noted_doc_stats()

    def _write(self, document: dict, file_handler: IO, filename: str):
        super()._write(document, file_handler, filename)
        self._rows_written()[filename] += 1

    def _rows_written(self) -> Counter:
        if not hasattr(self, "_atomic_rows"):
            self._atomic_rows = Counter()
        return self._atomic_rows

    def _local(self, relative: str) -> str:
        """The full path of a file of this writer's output folder (for messages and local renames)."""
        return self.output_folder.resolve_paths(relative)

    def _is_local(self) -> bool:
        from fsspec.implementations.local import LocalFileSystem

        return isinstance(self.output_folder.fs, LocalFileSystem)

    @abstractmethod
    def count_rows(self, handle: IO) -> int:
        """Rows in a written file (each writer reads its own format)."""

    def close(self):
        self._add_noted()
        self.__dict__.pop("_handles", None)
        counts = dict(sorted(self._rows_written().items()))
        self._rows_written().clear()
        try:
            super().close()
        except OSError as error:
            self._discard(list(counts))
            named = self._local(final_name(next(iter(counts)))) if counts else self.output_folder.path
            raise with_path(error, named) from error
        except BaseException:
            self._discard(list(counts))
            raise
        for number, (temp, rows) in enumerate(counts.items()):
            try:
                if rows:
                    self._publish(temp, rows)
                else:  # named but never written (its first write failed and the error was handled): nothing to keep
                    self._discard([temp])
            except BaseException:
                self._discard(list(counts)[number + 1 :])
                raise

    def _publish(self, temp: str, rows: int) -> None:
        final = final_name(temp)
        try:
            with self.output_folder.open(temp, "rb") as handle:
                found = self.count_rows(handle)
            if found != rows:
                raise IncompleteWriteError(0, f"wrote {rows} rows but read back {found}", self._local(final))
            if self._is_local():
                publish(self._local(temp), self._local(final))
            else:
                self.output_folder.mv(temp, final)
        except IncompleteWriteError:
            self._discard([temp])
            raise
        except OSError as error:
            self._discard([temp])
            raise with_path(error, self._local(final)) from error

    def _discard(self, temps: list[str]) -> None:
        for temp in temps:
            if self._is_local():
                remove_quietly(self._local(temp))
            else:
                try:
                    self.output_folder.rm(temp)
                except OSError:
                    pass

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is None:
            self.close()
            return
        # the task failed (or was stopped): close quietly and leave no file behind
        self.__dict__.pop("_handles", None)
        temps = sorted(self._rows_written())
        self._rows_written().clear()
        try:
            super().close()
        except Exception:
            pass
        self._discard(temps)


class AtomicParquetWriter(AtomicFilesMixin, ParquetWriter):
    """datatrove's ParquetWriter, writing under temporary names (see module docs)."""

    def count_rows(self, handle: IO) -> int:
        import pyarrow.parquet as pq

        return pq.ParquetFile(handle).metadata.num_rows


class AtomicJsonlWriter(AtomicFilesMixin, JsonlWriter):
    """datatrove's JsonlWriter (gzip), writing under temporary names (see module docs)."""

    def count_rows(self, handle: IO) -> int:
        opened = gzip.open(handle, "rb") if self.compression == "gzip" else handle
        return sum(1 for _ in opened)
