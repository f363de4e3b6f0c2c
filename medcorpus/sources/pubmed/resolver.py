"""Drops PubMed records that a later update replaced or deleted, and abstracts PMC gives in full."""

from __future__ import annotations

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.sources.pubmed.updates import version_key
from medcorpus.sources.xml.safe import is_number


def _contains(sorted_values: np.ndarray, value: int) -> bool:
    index = int(np.searchsorted(sorted_values, value))
    return index < len(sorted_values) and int(sorted_values[index]) == value


class PubMedResolver(BaseFilter):
    """Applies `ResolveVersions`' decisions to PubMed documents.

    Removal reasons: "superseded" (a later record of the PMID exists), "deleted" (a later
    DeleteCitation names it) and "pmc_full_text" (PMC's full text of the article is in the run).
    """

    type = "🔗 - LINK"
    name = "PubMed version resolver"

    def __init__(self, resolved_file: str, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.resolved_file = resolved_file
        self._resolved: dict[str, np.ndarray] | None = None
        self._file_index: dict[str, int] = {}

    def _load(self) -> dict[str, np.ndarray]:
        if self._resolved is None:
            with np.load(self.resolved_file) as data:
                self._resolved = {key: data[key] for key in data.files}
            self._file_index = {str(name): index for index, name in enumerate(self._resolved["files"])}
        return self._resolved

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        resolved = self._load()
        pmid = int(doc.metadata["pmid"])
        index = int(np.searchsorted(resolved["pmids"], pmid))
        if index < len(resolved["pmids"]) and int(resolved["pmids"][index]) == pmid:
            winner = int(resolved["winners"][index])
            file_index = self._file_index.get(doc.metadata.get("file", ""))
            key = version_key(file_index, int(doc.metadata["record"])) if file_index is not None else None
            if winner == -1:
                return False, "deleted"
            if key != winner:
                return False, "superseded"
        if _contains(resolved["pmc_pmids"], pmid):
            return False, "pmc_full_text"
        digits = str(doc.metadata.get("pmcid") or "").removeprefix("PMC")
        if is_number(digits) and _contains(resolved["pmc_pmcids"], int(digits)):
            return False, "pmc_full_text"
        return True
