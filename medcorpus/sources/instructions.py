"""Instruction examples (for supervised fine-tuning), one document per example, the turns kept structured.

Three layouts are read, from JSON lines, a JSON array (`.json`), compressed JSON lines or Parquet, as
`GeneralReader` reads files:

- Alpaca (and MedAlpaca's Medical Meadow sets): `instruction`, optional `input`, `output`; the user turn
  is the instruction, then a blank line and the input when there is one;
- ShareGPT: `conversations: [{"from": "system"|"human"|"gpt", "value": ...}]`;
- OpenAI chat: `messages: [{"role": "system"|"user"|"assistant", "content": ...}]`.

`metadata["turns"]` holds `[{"role": "system"|"user"|"assistant", "content": ...}]`; the document text
is the turns' contents joined by blank lines (what cleaning, language ID, deduplication and
decontamination look at, with no role words added). `metadata["kind"]` is "instruction" and
`metadata["task"]` the record's `task` (else the reader's `task` option). Rejected, with the file and
reason and nothing silently lost: records in none of the layouts (`unknown_format`), without a user turn
(`no_prompt`), or whose last turn is not a non-empty assistant answer (`no_answer`).
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import CATEGORIES, join_turns, make_document
from medcorpus.sources.general import GeneralReader

ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
ROLES |= {"bot": "assistant", "model": "assistant"}


def turns_of(record: dict) -> list[dict] | None:
    """The record's turns as `{"role", "content"}` dicts, or None when it is in no known layout."""
    if isinstance(record.get("instruction"), str) and "output" in record:
        prompt = record["instruction"].strip()
        extra = record.get("input")
        if isinstance(extra, str) and extra.strip():
            prompt = f"{prompt}\n\n{extra.strip()}" if prompt else extra.strip()
        answer = record["output"] if isinstance(record["output"], str) else ""
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer.strip()}]
    for key, role_key, content_key in (("conversations", "from", "value"), ("messages", "role", "content")):
        items = record.get(key)
        if isinstance(items, list) and items:
            turns = []
            for item in items:
                if not isinstance(item, dict) or ROLES.get(str(item.get(role_key)).lower()) is None:
                    return None
                content = item.get(content_key)
                turns.append({"role": ROLES[str(item[role_key]).lower()], "content": str(content or "").strip()})
            return turns
    return None


class InstructionReader(GeneralReader):
    """Instruction examples in the Alpaca, ShareGPT or OpenAI-chat layout (see the module docstring)."""

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
    ):
        super().__init__(inputs, exclusion_writer=exclusion_writer, limit=limit, name=name, license=license)
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
        self.category = category
        self.task = task

    def _document(self, record: object, path: str, line_id: str) -> Document | None:
        if not isinstance(record, dict):
            self.reject(path, "not_object", doc_id=line_id)
            return None
        turns = turns_of(record)
        if turns is None:
            self.reject(path, "unknown_format", doc_id=line_id)
            return None
        if not any(turn["role"] == "user" and turn["content"] for turn in turns):
            self.reject(path, "no_prompt", doc_id=line_id)
            return None
        if turns[-1]["role"] != "assistant" or not turns[-1]["content"]:
            self.reject(path, "no_answer", doc_id=line_id)
            return None
        original_id = record.get("id")
        doc_id = f"{self.id_prefix}:{self.source}:{original_id}" if isinstance(original_id, (str, int)) else line_id
        task = record.get("task") if isinstance(record.get("task"), str) else self.task
        return make_document(
            join_turns(turns),
            doc_id,
            source=self.source,
            category=self.category,
            license=record.get("license") if isinstance(record.get("license"), str) else self.license,
            kind="instruction",
            task=task,
            turns=turns,
        )
