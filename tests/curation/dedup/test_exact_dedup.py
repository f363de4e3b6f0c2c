"""Exact deduplication: whole texts as before (byte for byte), prompts of instruction examples across sources."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)

from medcorpus.curation.dedup.exact import SourcePriority, normalized_text
from medcorpus.documents import join_turns
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import ConfigError, DedupConfig, validate
from medcorpus.run.context import StageContext
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import Stage, curation_stage

# Written here; no example comes from a published set.
ANSWERS = ("Metformin, unless contraindicated.", "Start metformin and advise on diet.", "Metformin.")
PROMPT = "What is the first-line drug for type 2 diabetes?"


def plain(doc_id: str, source: str, text: str) -> Document:
    return Document(text=text, id=doc_id, metadata={"source": source, "category": "biomedical", "license": "x"})


def example(doc_id: str, source: str, prompt: str, answer: str) -> Document:
    turns = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    metadata = {"source": source, "category": "biomedical", "license": "x", "kind": "instruction", "turns": turns}
    return Document(text=join_turns(turns), id=doc_id, metadata=metadata)


def write(folder, docs: list[tuple[int, Document]]) -> None:
    """Documents as an intermediate folder: `<source>/<rank>` files, so one source can span several tasks."""
    with make_writer(str(folder)) as writer:
        for rank, doc in docs:
            writer.write(doc, rank)


def read(folder) -> dict[str, dict]:
    if not folder.is_dir():
        return {}
    return {doc.id: doc.metadata for doc in make_reader(str(folder)).run()}


def run_dedup(tmp_path, docs, tasks: int = 2, name: str = "out", **settings) -> tuple[dict, dict]:
    """Run the stage as a config run does; (kept, excluded) as {id: metadata}."""
    if not (tmp_path / "in").is_dir():
        write(tmp_path / "in", docs)
    out = tmp_path / name
    params = DedupConfig(**settings).model_dump()
    run_stages([curation_stage("dedup", params, [str(tmp_path / "in")], StageContext(str(out), "parquet", tasks), 0)])
    return read(out), read(out / "excluded")


def corpus() -> list[tuple[int, Document]]:
    """Copies within and across sources and tasks, spacing and case variants, prompts with other answers."""
    base = "Aspirin lowers the risk of a second heart attack in most adults."
    return [
        (0, plain("pubmed:1", "pubmed", base)),
        (1, plain("pubmed:2", "pubmed", base)),  # same position in the other task's stream, same priority
        (0, plain("general:1", "general", "  " + base.upper().replace(" ", "\n"))),
        (1, plain("guidelines:1", "guidelines", base.replace(" ", "  "))),
        (0, plain("pubmed:3", "pubmed", "An unrelated abstract about renal function in older adults.")),
        (0, example("meadow:1", "meadow", PROMPT, ANSWERS[0])),
        (1, example("medqa_sft:1", "medqa_sft", PROMPT.upper(), ANSWERS[1])),
        (1, example("meadow:2", "meadow", PROMPT + "  ", ANSWERS[2])),
        (0, example("meadow:3", "meadow", PROMPT, ANSWERS[0])),  # the whole example again
        (1, example("meadow:4", "meadow", "Define tachycardia.", "A fast heart rate.")),
    ]


def test_default_gives_datatrove_exact_dedup_outputs_byte_for_byte(tmp_path):
    docs = corpus()
    write(tmp_path / "in", docs)
    for tasks in (1, 2):
        ours = tmp_path / f"ours{tasks}"
        ctx = StageContext(str(ours), "parquet", tasks)
        run_stages([curation_stage("dedup", DedupConfig().model_dump(), [str(tmp_path / "in")], ctx, 0)])
        # the steps as they stood before prompts were compared: datatrove's three, on the whole text
        reference = tmp_path / f"reference{tasks}"
        ref = StageContext(str(reference), "parquet", tasks)
        config = ExactDedupConfig(normalized_text, SourcePriority(DedupConfig().priority))
        sigs, dups = ref.path("work", "signatures"), ref.path("work", "duplicates")
        drop = ExactDedupFilter(dups, config, ref.excluded(reason="exact_duplicate"))
        pipelines = [
            ([ref.reader(str(tmp_path / "in")), ExactDedupSignature(sigs, config)], tasks),
            ([ExactFindDedups(sigs, dups, config)], 1),
            ([ref.reader(str(tmp_path / "in")), drop, *ref.tail()], tasks),
        ]
        run_stages([Stage("dedup", str(reference), pipelines)])
        written = sorted(p.relative_to(reference) for p in reference.glob("**/*.parquet") if "work" not in p.parts)
        assert written == sorted(p.relative_to(ours) for p in ours.glob("**/*.parquet") if "work" not in p.parts)
        assert any(p.parts[0] == "excluded" for p in written)
        for path in written:
            assert (ours / path).read_bytes() == (reference / path).read_bytes(), path
        assert read(ours / "excluded").keys() == {"pubmed:2", "general:1", "pubmed:1", "meadow:3"}


def test_prompt_copies_across_sources_keep_the_priority_source(tmp_path):
    priority = ["guidelines", "medqa_sft", "pubmed", "meadow", "general"]
    kept, excluded = run_dedup(tmp_path, corpus(), fields=["text", "prompt"], priority=priority)
    reasons = {doc_id: metadata["filter_reason"] for doc_id, metadata in excluded.items()}
    assert reasons == {
        "pubmed:1": "exact_duplicate",
        "pubmed:2": "exact_duplicate",
        "general:1": "exact_duplicate",
        "meadow:3": "exact_duplicate",  # the same text as meadow:1: named as a text copy, not a prompt copy
        "meadow:1": "duplicate_prompt",
        "meadow:2": "duplicate_prompt",
    }
    assert sorted(kept) == ["guidelines:1", "meadow:4", "medqa_sft:1", "pubmed:3"]
    assert kept["guidelines:1"]["duplicate_count"] == 3
    assert kept["medqa_sft:1"]["duplicate_count"] == 2  # meadow:3 was dropped as meadow:1's copy
    assert kept["pubmed:3"]["duplicate_count"] == 0
    # prompts only: the whole-example copy is a prompt copy too; plain documents compare their text
    kept, excluded = run_dedup(tmp_path, [], name="prompt", fields=["prompt"], priority=priority)
    assert {doc_id for doc_id, m in excluded.items() if m["filter_reason"] == "duplicate_prompt"} == {
        "pubmed:1", "pubmed:2", "general:1", "meadow:1", "meadow:2", "meadow:3"
    }  # fmt: skip
    assert kept["medqa_sft:1"]["duplicate_count"] == 3


def test_every_group_keeps_one_document_whatever_the_tasks(tmp_path):
    """Copies at the same position of different tasks, same priority: text and prompt choices never disagree."""
    docs = []
    for rank in range(3):
        for i in range(4):
            answer = "Same answer." if i % 2 else f"A{rank}."
            docs.append((rank, example(f"s:{rank}{i}", "s", f"Question {i}?", answer)))
    write(tmp_path / "in", docs)
    for tasks in (1, 2, 3):
        kept, excluded = run_dedup(tmp_path, docs, tasks=tasks, name=f"t{tasks}", fields=["prompt", "text"])
        prompts = sorted(m["turns"][0]["content"] for m in kept.values())
        assert prompts == [f"Question {i}?" for i in range(4)], tasks
        assert len(excluded) == 8


def test_fields_are_validated_naming_the_key():
    raw = {"output": "o", "sources": {"p": {"type": "pmc", "inputs": ["/nonexistent"]}}, "mix": {"ratios": {}}}
    for bad in (["answer"], [], ["text", "text"]):
        with pytest.raises(ConfigError, match="curation.dedup.fields"):
            validate(raw | {"curation": {"dedup": {"fields": bad}}}, check_inputs=False)
    assert DedupConfig().fields == ["text"]
    assert json.loads(DedupConfig(fields=["prompt"]).model_dump_json())["fields"] == ["prompt"]
