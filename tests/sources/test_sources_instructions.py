"""Instruction examples: every layout into documents with structured turns; precedence, bad answers, truncation."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner
from support.helpers import read_all

from medcorpus.cli.main import main
from medcorpus.io.formats import make_reader
from medcorpus.sources.instructions import InstructionReader

# Written here; no example comes from a published set.
RECORDS = [
    {"instruction": "What is the first-line drug for type 2 diabetes?", "input": "", "output": "Metformin."},
    {"instruction": "Summarise the finding.", "input": "HbA1c fell from 8.1% to 7.2%.", "output": "Better control."},
    {"id": "c1", "task": "dialogue", "conversations": [
        {"from": "system", "value": "You are a careful clinician."},
        {"from": "human", "value": "Can ibuprofen be taken with warfarin?"},
        {"from": "gpt", "value": "It raises the bleeding risk; prefer paracetamol."},
    ]},
    {"messages": [
        {"role": "user", "content": "Define tachycardia."}, {"role": "assistant", "content": "A fast heart rate."}
    ]},
    {"instruction": "Explain anaemia.", "output": "   "},  # no answer
    {"messages": [{"role": "user", "content": "Hello?"}]},  # ends on the user
    {"messages": [{"role": "assistant", "content": "Unprompted."}]},  # no user turn
    {"title": "A record of another kind", "body": "x"},
    {"instruction": "List the causes of anaemia.", "output": "Iron deficiency, blood loss and"},  # cut off
    [1, 2],
]  # fmt: skip


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return str(path)


def test_layouts_turns_and_rejects(tmp_path):
    reader = InstructionReader([write_jsonl(tmp_path / "sft.jsonl", RECORDS)], name="meadow", task="qa")
    documents, rejects = read_all(reader)
    assert [d.metadata["turns"][-1]["content"] for d in documents] == [
        "Metformin.", "Better control.", "It raises the bleeding risk; prefer paracetamol.", "A fast heart rate."
    ]  # fmt: skip
    alpaca = documents[1].metadata
    assert alpaca["turns"][0] == {"role": "user", "content": "Summarise the finding.\n\nHbA1c fell from 8.1% to 7.2%."}
    assert documents[1].text == "Summarise the finding.\n\nHbA1c fell from 8.1% to 7.2%.\n\nBetter control."
    chat = documents[2]
    assert [t["role"] for t in chat.metadata["turns"]] == ["system", "user", "assistant"]
    assert chat.id == "instruction:meadow:c1" and chat.metadata["task"] == "dialogue"
    assert documents[0].metadata["task"] == "qa" and documents[0].metadata["kind"] == "instruction"
    assert documents[0].id.startswith("instruction:meadow:") and documents[0].metadata["source"] == "meadow"
    reasons = ["no_answer", "no_answer", "no_prompt", "unknown_format", "truncated_answer", "not_object"]
    assert [reason for reason, _ in rejects] == reasons


def test_json_array_and_parquet(tmp_path):
    array = tmp_path / "medical_meadow_flashcards.json"
    array.write_text(json.dumps(RECORDS[:2]))
    table = pa.Table.from_pylist([RECORDS[0], {"instruction": "Q?", "input": None, "output": "A."}])
    pq.write_table(table, tmp_path / "part.parquet")
    documents, rejects = read_all(InstructionReader([str(array), str(tmp_path / "part.parquet")]))
    assert len(documents) == 4 and not rejects
    assert documents[-1].metadata["turns"] == [
        {"role": "user", "content": "Q?"},
        {"role": "assistant", "content": "A."},
    ]


def test_cli_writes_documents_with_turns(tmp_path):
    source = write_jsonl(tmp_path / "sft.jsonl", RECORDS)
    result = CliRunner().invoke(main, ["sources", "instructions", source, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    documents = list(make_reader(str(tmp_path / "out")).run())
    assert len(documents) == 4 and all(d.metadata["turns"][-1]["role"] == "assistant" for d in documents)
    excluded = pq.read_table(tmp_path / "out" / "excluded")["metadata"].to_pylist()  # one row per rejected record
    assert sorted(json.loads(row)["filter_reason"] for row in excluded) == sorted(
        ["no_answer", "no_answer", "no_prompt", "unknown_format", "truncated_answer", "not_object"]
    )


def test_map_turns_keeps_text_and_turns_in_step():
    from medcorpus.documents import make_document, map_turns, prompt_of

    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1"}]
    turns += [{"role": "assistant", "content": "a1"}, {"role": "user", "content": "Q2"}]
    turns += [{"role": "assistant", "content": "a2"}]
    doc = make_document("x", "i:1", source="s", category="biomedical", license="l", turns=turns)
    assert prompt_of(doc) == "Q1\n\nQ2"
    map_turns(doc, str.upper)
    assert doc.text == "BE BRIEF.\n\nQ1\n\nA1\n\nQ2\n\nA2" and doc.metadata["turns"][2] == {
        "role": "assistant",
        "content": "A1",
    }
    plain = map_turns(make_document("abc", "p:1", source="s", category="biomedical", license="l"), str.upper)
    assert plain.text == "ABC" and prompt_of(plain) == "ABC"
