"""PubMed update semantics and PMC linking, resolved after every file has been read.

NLM publishes an annual baseline and daily update files. Read together, a PMID's latest
record wins (files ordered by name, which is their publication order, then by position
in the file) and a `DeleteCitation` removes the records of its PMIDs that came before it.
The reader notes every record and deletion in a `VersionLedger` (one small file per input
file, so the result does not depend on how files were split across tasks); `ResolveVersions`
then reduces the ledger to the PMIDs that need a decision and collects the ids of PMC full
texts, for `PubMedResolver` to apply.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from medcorpus.io.atomic import atomic_open
from medcorpus.sources.xml.safe import is_number

EVENT = np.dtype([("pmid", "<i8"), ("position", "<i8"), ("deleted", "?")])
RESOLVED_FILE = "resolved.npz"


def version_key(file_index: int, position: int) -> int:
    """Orders records: by input file (in name order), then by position in the file."""
    return (file_index << 32) | position


class FileEvents:
    """The records and deletions of one input file, written atomically by `close`."""

    def __init__(self, path: Path):
        self.path = path
        self.pmids: list[int] = []
        self.positions: list[int] = []
        self.deleted: list[bool] = []

    def record(self, pmid: str, position: int) -> None:
        self._add(int(pmid), position, False)

    def delete(self, pmids: list[str], position: int) -> None:
        for pmid in pmids:
            self._add(int(pmid), position, True)

    def _add(self, pmid: int, position: int, deleted: bool) -> None:
        self.pmids.append(pmid)
        self.positions.append(position)
        self.deleted.append(deleted)

    def close(self) -> None:
        events = np.empty(len(self.pmids), dtype=EVENT)
        events["pmid"], events["position"], events["deleted"] = self.pmids, self.positions, self.deleted
        with atomic_open(self.path) as handle:
            np.save(handle, events)


class VersionLedger:
    """Where the PubMed reader notes each record's PMID and position, and each deleted PMID."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def file(self, name: str) -> FileEvents:
        return FileEvents(self.folder / f"{name}.npy")


def pmc_ids(folders: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted PMIDs and PMCID numbers of the PMC documents in `folders` (Parquet or JSONL.gz)."""
    pmids: set[int] = set()
    pmcids: set[int] = set()
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():  # the run's own PMC source wrote nothing
            continue
        files = sorted(p for p in root.rglob("*") if p.name.endswith((".parquet", ".jsonl.gz")))
        for path in files:
            if {"excluded", "work", "stats", "logs"} & set(path.relative_to(root).parts[:-1]):
                continue
            for metadata in _metadata_rows(path):
                if metadata.get("source") != "pmc":
                    continue
                if is_number(str(metadata.get("pmid") or "")):
                    pmids.add(int(metadata["pmid"]))
                digits = str(metadata.get("pmcid") or "").removeprefix("PMC")
                if is_number(digits):
                    pmcids.add(int(digits))
    return np.array(sorted(pmids), dtype=np.int64), np.array(sorted(pmcids), dtype=np.int64)


def _metadata_rows(path: Path):
    if path.name.endswith(".parquet"):
        for value in pq.read_table(path, columns=["metadata"]).column("metadata").to_pylist():
            yield orjson.loads(value) if isinstance(value, str) else (value or {})
        return
    import gzip

    with gzip.open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line).get("metadata") or {}


class ResolveVersions(PipelineStep):
    """Reduces the version ledger and the PMC ids to the decisions `PubMedResolver` applies (one task)."""

    name = "PubMed version ledger"
    type = "🔗 - LINK"

    def __init__(self, ledger_folder: str, output_file: str, pmc_folders: list[str] | None = None):
        super().__init__()
        self.ledger_folder = ledger_folder
        self.output_file = output_file
        self.pmc_folders = list(pmc_folders or [])

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        files = sorted(Path(self.ledger_folder).glob("*.npy")) if Path(self.ledger_folder).is_dir() else []
        parts = [(index, np.load(path)) for index, path in enumerate(files)]
        pmids = np.concatenate([events["pmid"] for _, events in parts] or [np.empty(0, np.int64)])
        keys = np.concatenate(
            [(index << 32) | events["position"] for index, events in parts] or [np.empty(0, np.int64)]
        )
        deleted = np.concatenate([events["deleted"] for _, events in parts] or [np.empty(0, bool)])
        order = np.lexsort((keys, pmids))
        pmids, keys, deleted = pmids[order], keys[order], deleted[order]
        last = np.r_[pmids[1:] != pmids[:-1], True] if len(pmids) else np.empty(0, bool)
        first = np.r_[True, pmids[1:] != pmids[:-1]] if len(pmids) else np.empty(0, bool)
        repeated = last & ~first  # the PMID has more than one event: some record loses
        winners = np.where(deleted[repeated], -1, keys[repeated])
        pmc_pmids, pmc_pmcids = pmc_ids(self.pmc_folders)
        self.stat_update("pmids_with_updates", value=int(repeated.sum()))
        self.stat_update("pmids_deleted", value=int((winners == -1).sum()))
        self.stat_update("pmc_full_texts", value=len(pmc_pmcids))
        names = np.array([path.name.removesuffix(".npy") for path in files], dtype=str)
        with atomic_open(self.output_file) as handle:
            np.savez(
                handle, files=names, pmids=pmids[repeated], winners=winners, pmc_pmids=pmc_pmids, pmc_pmcids=pmc_pmcids
            )
        logger.info(
            f"pubmed versions: {len(files)} files, {int(repeated.sum())} PMIDs updated or deleted, "
            f"{len(pmc_pmcids)} PMC full texts to link"
        )
