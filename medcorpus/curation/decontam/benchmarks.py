"""Loaders for evaluation sets in their published formats, for decontamination.

Every loader yields `BenchmarkItem`s: the benchmark's name, the item's own id, and its texts by
field (`question`, each `option`, the `option_set` joined in order, the `context`, the long-form
`answer` or explanation). PubMedQA items also carry their PMID, so PubMed and PMC documents can be
removed by id. Formats: `pubmedqa` (`ori_pqal.json`: PMID -> {QUESTION, CONTEXTS, LONG_ANSWER}, and
the test split `test_ground_truth.json`: PMID -> yes/no/maybe), `medqa` (JSONL: question, options
{A: ...}), `medmcqa` (question, opa..opd, exp, id), `mmlu` (headerless CSV question,A,B,C,D,answer
or JSONL question, choices, subject) and `aistairc` (problem_id, problem_text, choices, context).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medcorpus.paths import InputError, expand_inputs, open_input

FORMATS = ("auto", "pubmedqa", "medqa", "medmcqa", "mmlu", "aistairc")
FIELDS = ("question", "option", "option_set", "context", "answer")
SUFFIXES = tuple(s + c for s in (".json", ".jsonl", ".csv") for c in ("", ".gz", ".bz2", ".zst"))
_LABELS = {"yes", "no", "maybe"}


class BenchmarkError(ValueError):
    """A benchmark path or format that cannot be used: raised before any document is read."""


@dataclass(frozen=True)
class BenchmarkItem:
    """One evaluation item: where it comes from and the texts a document must not share."""

    benchmark: str
    item_id: str
    texts: tuple[tuple[str, str], ...]  # (field, text)
    pmid: str | None = None


@dataclass(frozen=True)
class BenchmarkFile:
    """A benchmark file with its resolved format, name, fields and whether its PMIDs are removed by id."""

    path: str
    format: str
    name: str
    fields: tuple[str, ...] = FIELDS
    match_ids: bool = False


def _read_records(path: str) -> list[tuple[str | None, Any]]:
    """(key, record) pairs: JSON object keyed by id, JSON list/object, JSON lines, or headerless CSV rows."""
    with open_input(path, "rt") as handle:
        raw = handle.read()
    if ".csv" in Path(path).name:
        return [(None, row) for row in csv.reader(io.StringIO(raw)) if row]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        try:
            return [(None, json.loads(line)) for line in raw.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise BenchmarkError(f"benchmark {path}: neither JSON nor JSON lines ({error})") from None
    if isinstance(value, list):
        return [(None, item) for item in value]
    if isinstance(value, dict) and value and all(isinstance(v, (dict, str)) for v in value.values()):
        if not {"question", "problem_text"} & set(value):
            return list(value.items())
    return [(None, value)]


def detect_format(records: list[tuple[str | None, Any]]) -> str | None:
    """The format whose fields the first record has, or None."""
    if not records:
        return None
    key, record = records[0]
    if isinstance(record, list):
        return "mmlu" if len(record) >= 3 else None
    if isinstance(record, str):
        return "pubmedqa" if key and key.isdigit() and record.lower() in _LABELS else None
    if not isinstance(record, dict):
        return None
    if {"QUESTION", "CONTEXTS"} <= set(record):
        return "pubmedqa"
    if "problem_text" in record:
        return "aistairc"
    if "question" in record and "opa" in record:
        return "medmcqa"
    if "question" in record and "options" in record:
        return "medqa"
    if "question" in record and "choices" in record:
        return "mmlu"
    return None


def resolve_benchmarks(specs: list[str | dict]) -> list[BenchmarkFile]:
    """Expand benchmark paths or `{path, format, fields, name, match_ids}` specs into files, reading each.

    Plain paths have their format detected; a missing path, an unknown format or a file of
    another format fails here, naming the path. Names default to the file's stem.
    """
    files: list[BenchmarkFile] = []
    for spec in specs:
        spec = {"path": spec} if isinstance(spec, str) else dict(spec)
        fmt = spec.get("format") or "auto"
        fields = tuple(spec.get("fields") or FIELDS)
        if fmt not in FORMATS:
            raise BenchmarkError(f"benchmark {spec.get('path')}: unknown format {fmt!r} (use one of {FORMATS})")
        if unknown := set(fields) - set(FIELDS):
            raise BenchmarkError(f"benchmark {spec.get('path')}: unknown fields {sorted(unknown)} (use {FIELDS})")
        try:
            paths = expand_inputs([str(spec["path"])], SUFFIXES)
        except InputError as error:
            raise BenchmarkError(f"benchmark {error}") from None
        for path in paths:
            records = _read_records(path)
            found = detect_format(records)
            if found is None or (fmt != "auto" and found != fmt):
                wanted = "a known format" if fmt == "auto" else f"format {fmt!r}"
                raise BenchmarkError(f"benchmark {path}: not {wanted} (detected: {found or 'nothing'})")
            is_split = found == "pubmedqa" and isinstance(records[0][1], str)
            is_pmid_set = is_split or (found == "aistairc" and "context" in records[0][1])
            match_ids = spec.get("match_ids")
            name = spec.get("name") or Path(path).name.split(".")[0]
            files.append(
                BenchmarkFile(path, found, name, fields, is_pmid_set if match_ids is None else bool(match_ids))
            )
    return files


def _options(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(v) for _, v in sorted(value.items())]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _item(bench: BenchmarkFile, item_id: Any, question: Any, options: list[str], context: Any, answer: Any, pmid=None):
    texts = {"question": [question], "option": options, "option_set": [" ".join(options)] if options else []}
    texts |= {"context": [context], "answer": [answer]}
    kept = tuple(
        (name, value) for name in bench.fields for value in texts[name] if isinstance(value, str) and value.strip()
    )
    return BenchmarkItem(bench.name, str(item_id), kept, pmid)


def load_items(bench: BenchmarkFile) -> Iterator[BenchmarkItem]:
    """The items of one resolved benchmark file, in file order."""
    for index, (key, record) in enumerate(_read_records(bench.path)):
        if bench.format == "pubmedqa":
            if isinstance(record, str):  # the test split: PMID -> label, ids only
                yield BenchmarkItem(bench.name, str(key), (), str(key))
                continue
            contexts = " ".join(str(c) for c in record.get("CONTEXTS") or [])
            yield _item(bench, key, record.get("QUESTION"), [], contexts, record.get("LONG_ANSWER"), str(key))
        elif bench.format == "medqa":
            yield _item(
                bench, record.get("id", index), record.get("question"), _options(record.get("options")), None, None
            )
        elif bench.format == "medmcqa":
            options = [str(record[k]) for k in ("opa", "opb", "opc", "opd", "ope") if record.get(k) is not None]
            yield _item(bench, record.get("id", index), record.get("question"), options, None, record.get("exp"))
        elif bench.format == "mmlu":
            if isinstance(record, list):
                yield _item(bench, index, record[0], [str(v) for v in record[1:-1]], None, None)
            else:
                item_id = f"{record['subject']}:{index}" if record.get("subject") else record.get("id", index)
                yield _item(bench, item_id, record.get("question"), _options(record.get("choices")), None, None)
        elif bench.format == "aistairc":
            item_id = record.get("problem_id", index)
            pmid = str(item_id) if "context" in record and str(item_id).isdigit() else None
            options = [] if pmid else _options(record.get("choices"))  # PubMedQA's choices are yes/no/maybe
            yield _item(bench, item_id, record.get("problem_text"), options, record.get("context"), None, pmid)
