"""`InstructionReader`: one document per instruction example, the turns kept structured (see the package)."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import CATEGORIES, join_turns, lacks, make_document
from medcorpus.sources.general import GeneralReader
from medcorpus.sources.instructions.layouts import BadRecord, layout_of, read_record
from medcorpus.sources.instructions.truncation import truncated


class InstructionReader(GeneralReader):
    """Instruction examples in any layout of `layouts`, auto-detected per record (see the package docstring)."""

    name = "instruction reader"
    source = "instructions"
    category = "biomedical"
    id_prefix = "instruction"

    def __init__(
        self,
        inputs: list[str],
        exclusion_writer: DiskWriter | None = None,
        limit: int = -1,
        name: str = "instructions",
        license: str = "unknown",
        task: str | None = None,
        category: str = "biomedical",
        check_truncation: bool = True,
        cop_base: int | None = None,
        restricted: bool = False,
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit, name=name, license=license)
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
        if cop_base not in (None, 0, 1):
            raise ValueError(f"cop_base must be 0, 1 or null (0 for Parquet files, else 1), got {cop_base!r}")
        self.category = category
        self.task = task
        self.check_truncation = check_truncation
        self.cop_base = cop_base
        self.restricted = bool(restricted)  # credentialed-licence data (e.g. built on MIMIC notes): never published

    def _records(self, path: str):
        """As `GeneralReader`'s, and a JSON object of records keyed by id (PubMedQA's `ori_pqal.json`: PMID ->
        record) gives each record, its key as its `id`."""
        for number, record in super()._records(path):
            keyed = isinstance(record, dict) and record and all(isinstance(value, dict) for value in record.values())
            if keyed and layout_of(record) is None:  # records are dicts of strings: the all() stops at once
                yield from ((key, {"id": key} | value) for key, value in record.items())
                continue
            yield number, record

    def _document(self, record: object, path: str, line_id: str) -> Document | None:
        if not isinstance(record, dict):
            self.reject(path, "not_object", doc_id=line_id)
            return None
        cop_base = self.cop_base if self.cop_base is not None else int(not path.endswith(".parquet"))
        try:
            found = read_record(record, cop_base)
        except BadRecord as error:
            self.reject(path, error.reason, doc_id=line_id)
            return None
        reason = "unknown_format" if found is None else self._problem(found[1])
        if reason:
            self.reject(path, reason, doc_id=line_id)
            return None
        layout, turns = found
        original_id = record.get("id")
        doc_id = f"{self.id_prefix}:{self.source}:{original_id}" if isinstance(original_id, (str, int)) else line_id
        task = record.get("task") if isinstance(record.get("task"), str) else self.task or layout.task
        return make_document(
            join_turns(turns),
            doc_id,
            source=self.source,
            category=self.category,
            license=record.get("license") if isinstance(record.get("license"), str) else self.license,
            kind="instruction",
            task=task,
            layout=layout.name,
            turns=turns,
            restricted=self.restricted or None,
        )

    def _problem(self, turns: list[dict]) -> str | None:
        """Why these turns make no example (the reject reason), or None."""
        no_prompt, no_answer = lacks(turns)
        if no_prompt or no_answer:
            return "no_prompt" if no_prompt else "no_answer"
        if self.check_truncation and any(turn["role"] == "assistant" and truncated(turn["content"]) for turn in turns):
            return "truncated_answer"
        return None
