"""Exact question matching for instruction examples, against the real MedQA, MedMCQA and PubMedQA samples."""

from __future__ import annotations

import json
import time

import pytest
from datatrove.data import Document

from medcorpus.curation.decontam.benchmarks import load_items, resolve_benchmarks
from medcorpus.curation.decontam.decontaminator import Decontaminator, benchmark_report, words_of
from medcorpus.curation.decontam.questions import QuestionIndex
from medcorpus.documents import join_turns
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import DecontamConfig
from medcorpus.run.context import StageContext
from medcorpus.run.counts import read_exclusions
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import curation_stage
from medcorpus.sources.instructions import InstructionReader

MEDQA = "benchmarks/medqa_us_4options/phrases_no_exclude_test.jsonl"
MEDMCQA = "benchmarks/aistairc_medLLM_QA_benchmark_en/medmcqa.jsonl"
PUBMEDQA = "benchmarks/pubmedqa/ori_pqal.json"
MEADOW_INSTRUCTION = "Please answer with one of the option in the bracket"
# Written here, like a case vignette; not from any benchmark.
VIGNETTE = (
    "A 47-year-old gardener comes to the clinic with three days of fever, a painful swollen knee and a rash on "
    "both shins after a hiking trip. Which of the following is the most likely diagnosis?"
)


def medqa_row(shared_data) -> tuple[int, dict]:
    """A long MedQA test question whose options are all short (so only the question can match)."""
    rows = [json.loads(line) for line in (shared_data / MEDQA).read_text().splitlines()]
    return next(
        (i, r)
        for i, r in enumerate(rows)
        if len(words_of(r["question"])) >= 80 and all(len(words_of(o)) < 8 for o in r["options"].values())
    )


def meadow(question: str, options: dict, answer: str = "A: I would rather not say.") -> dict:
    """A Medical Meadow MedQA record: the question and its options' Python repr in the input."""
    return {"instruction": MEADOW_INSTRUCTION, "input": f"Q:{question} {options!r}", "output": answer}


def chat(*user_turns: str, source: str = "wikidoc", doc_id: str = "chat:1") -> Document:
    turns = []
    for turn in user_turns:
        turns += [{"role": "user", "content": turn}, {"role": "assistant", "content": "That depends on the case."}]
    metadata = {"source": source, "category": "biomedical", "license": "x", "kind": "instruction", "turns": turns}
    return Document(text=join_turns(turns), id=doc_id, metadata=metadata)


def plain(text: str, source: str = "pubmed", doc_id: str = "pubmed:1", pmid: str | None = None) -> Document:
    metadata = {"source": source, "category": "biomedical", "license": "x"} | ({"pmid": pmid} if pmid else {})
    return Document(text=text, id=doc_id, metadata=metadata)


def read_examples(tmp_path, records: list[dict], name: str = "meadow") -> list[Document]:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return list(InstructionReader([str(path)], name=name).run())


def change_words(text: str, every: int, start: int = 0) -> str:
    """`text` with one word in `every` (from word `start`; words as decontamination splits them) replaced."""
    pieces, end = [], 0
    for i, word in enumerate(words_of(text)):
        if i >= start and (i - start) % every == 0:
            pieces += [text[end : word.start()], "zorblax"]
            end = word.end()
    return "".join(pieces) + text[end:]


def test_meadow_example_embedding_a_real_medqa_question(shared_data, tmp_path):
    index, row = medqa_row(shared_data)
    step = Decontaminator([str(shared_data / MEDQA)])
    exact, few_changed, many_changed, unrelated = read_examples(
        tmp_path,
        [
            meadow(row["question"], row["options"]),
            meadow(change_words(row["question"], 40, 20), row["options"]),  # one word in 40 changed
            meadow(change_words(row["question"], 12), row["options"]),  # no 13 words in a row left as they were
            meadow(VIGNETTE, {"A": "Lyme arthritis", "B": "Gout", "C": "Sarcoidosis", "D": "Septic arthritis"}),
        ],
    )
    assert step.filter(exact) == (False, "benchmark_question_phrases_no_exclude_test")
    assert exact.metadata["decontam_item"] == str(index)
    assert exact.metadata["decontam_matches"] == len(words_of(row["question"]))
    assert exact.metadata["decontam_benchmark"] == "phrases_no_exclude_test"
    # a few words changed: no exact question any more, but the untouched runs of 13 words are n-gram hits
    assert step.filter(few_changed) == (False, "benchmark_phrases_no_exclude_test")
    assert few_changed.metadata["decontam_item"] == str(index) and few_changed.metadata["decontam_matches"] > 50
    # one word in 12 changed: neither match finds it (the limit of 13-grams)
    assert step.filter(many_changed) is True
    assert step.filter(unrelated) is True
    # without question matching the exact copy is still an n-gram hit; the question match names it first
    assert Decontaminator([str(shared_data / MEDQA)], questions=False).filter(exact) == (
        False,
        "benchmark_phrases_no_exclude_test",
    )


def test_short_question_counts_only_as_a_whole_user_turn(shared_data):
    items = list(load_items(resolve_benchmarks([str(shared_data / MEDMCQA)])[0]))
    item = next(i for i in items if dict(i.texts)["question"] == "Most common mediastinal tumor:")
    step = Decontaminator([str(shared_data / MEDMCQA)])
    asked = chat("Thanks for the earlier answer.", "most common  mediastinal TUMOR?")
    assert step.filter(asked) == (False, "benchmark_question_medmcqa")
    assert asked.metadata["decontam_item"] == item.item_id and asked.metadata["decontam_matches"] == 4
    assert step.filter(chat("What is the most common mediastinal tumor in adults over sixty?")) is True
    assert Decontaminator([str(shared_data / MEDMCQA)], min_question_words=3).filter(
        chat("What is the most common mediastinal tumor in adults over sixty?")
    ) == (False, "benchmark_question_medmcqa")
    # common wording is no item: inside 189 other questions, so only a whole turn counts
    assert step.filter(chat("Aspirin was stopped. Which of the following is true about its effect now?")) is True
    assert step.filter(chat("Which of the following is TRUE:"))[1] == "benchmark_question_medmcqa"
    # plain documents are matched by n-grams only, as before
    assert step.filter(plain("Most common mediastinal tumor:")) is True


def test_instruction_examples_are_dropped_never_cut(shared_data):
    index, row = medqa_row(shared_data)
    step = Decontaminator([str(shared_data / MEDQA)], action="cut", min_words_left=5, questions=False)
    filler = " ".join(f"Sentence {i} of an unrelated ward handbook about bed rotas." for i in range(12))
    example = chat(filler + " " + row["question"] + " " + filler)
    assert step.filter(example) == (False, "benchmark_phrases_no_exclude_test")
    assert example.metadata["turns"][0]["content"].startswith(filler) and "decontam_cut_words" not in example.metadata
    paper = plain(filler + " " + row["question"] + " " + filler)
    assert step.filter(paper) is True and paper.text == filler + " " + filler


def test_counts_per_benchmark_match_and_source(shared_data, tmp_path):
    _, row = medqa_row(shared_data)
    pqal = json.loads((shared_data / PUBMEDQA).read_text())
    pmid, entry = list(pqal.items())[5]
    examples = read_examples(
        tmp_path,
        [
            meadow(row["question"], row["options"]),
            meadow(change_words(row["question"], 40, 20), row["options"]),
            meadow(VIGNETTE, {"A": "Lyme arthritis", "B": "Gout"}),
        ],
    )
    docs = examples + [
        chat("Answer yes, no or maybe.", entry["QUESTION"].upper(), source="pubmedqa_sft", doc_id="sft:1"),
        chat("Most common mediastinal tumor", source="pubmedqa_sft", doc_id="sft:2"),
        plain("A community hospital audit of small bowel endoscopy.", pmid=pmid, doc_id=f"pubmed:{pmid}"),
        plain("An abstract on the staffing of renal wards.", pmid="1", doc_id="pubmed:1"),
    ]
    with make_writer(str(tmp_path / "in")) as writer:
        for doc in docs:
            writer.write(doc)
    benchmarks = [str(shared_data / MEDQA), str(shared_data / MEDMCQA)]
    benchmarks.append({"path": str(shared_data / PUBMEDQA), "name": "pubmedqa", "match_ids": True})
    params = DecontamConfig(benchmarks=benchmarks).model_dump()
    out = tmp_path / "out"
    run_stages([curation_stage("decontam", params, [str(tmp_path / "in")], StageContext(str(out)), 0)])
    report = benchmark_report(out)
    assert {name: entry["matches"] for name, entry in report.items()} == {
        "phrases_no_exclude_test": {"ngram": 1, "question": 1},
        "medmcqa": {"question": 1},
        "pubmedqa": {"pmid": 1, "question": 1},
    }
    assert report["pubmedqa"]["sources"] == {"pubmed": {"pmid": 1}, "pubmedqa_sft": {"question": 1}}
    assert report["phrases_no_exclude_test"]["sources"] == {"meadow": {"ngram": 1, "question": 1}}
    assert report["pubmedqa"]["documents"] == 2
    assert read_exclusions(out / "excluded") == {
        "meadow": {"benchmark_phrases_no_exclude_test": 1, "benchmark_question_phrases_no_exclude_test": 1},
        "pubmed": {"benchmark_pmid_pubmedqa": 1},
        "pubmedqa_sft": {"benchmark_question_medmcqa": 1, "benchmark_question_pubmedqa": 1},
    }
    excluded = {doc.id: json.loads(doc.metadata) if isinstance(doc.metadata, str) else doc.metadata
                for doc in make_reader(str(out / "excluded")).run()}  # fmt: skip
    assert (excluded["sft:1"]["decontam_benchmark"], excluded["sft:1"]["decontam_item"]) == ("pubmedqa", pmid)
    assert sorted(doc.id for doc in make_reader(str(out)).run()) == sorted(["pubmed:1", examples[2].id])


@pytest.mark.slow
def test_every_real_question_found_in_meadow_prompts_and_none_in_real_abstracts(shared_data):
    """Recall on every benchmark question put in a Meadow prompt; no hit in 14,726 real PubMed abstracts."""
    from medcorpus.sources import reader_class

    items = [item for bench in resolve_benchmarks([str(shared_data / "benchmarks")]) for item in load_items(bench)]
    started = time.perf_counter()
    index = QuestionIndex(items, 6)
    built = time.perf_counter() - started
    missed = 0
    for question in range(len(index)):
        words = index.words(question)
        text = dict(items[index.item(question)].texts)["question"]
        found = index.find(f"{MEADOW_INSTRUCTION}\n\nQ:{text} {{'A': 'x'}}")
        missed += question not in found and words >= 6 and question not in index.common
    assert missed == 0
    docs = list(reader_class("pubmed")([str(shared_data / "pubmed/pubmed20n0014.xml.gz")]).run())
    started = time.perf_counter()
    hits = [doc.id for doc in docs if index.find(doc.text)]
    elapsed = time.perf_counter() - started
    megabytes = sum(len(doc.text.encode()) for doc in docs) / 1e6
    print(
        f"\n{len(index)} questions indexed in {built:.2f} s; "
        f"{len(docs) / elapsed:.0f} prompts/s, {megabytes / elapsed:.1f} MB/s"
    )
    assert hits == []


def test_question_settings_are_validated_naming_the_key(shared_data):
    from medcorpus.run.config import ConfigError, validate

    raw = {"output": "o", "sources": {"p": {"type": "pmc", "inputs": ["/nonexistent"]}}, "mix": {"ratios": {}}}
    bench = [str(shared_data / MEDMCQA)]
    for settings, key in (({"min_question_words": 0}, "min_question_words"), ({"questions": "often"}, "questions")):
        with pytest.raises(ConfigError, match=f"curation.decontam.{key}"):
            validate(raw | {"curation": {"decontam": {"benchmarks": bench, **settings}}}, check_inputs=False)
    with pytest.raises(ValueError, match="min_question_words"):
        Decontaminator(bench, min_question_words=0)
    assert Decontaminator(bench, questions=False).filter(chat("Most common mediastinal tumor:")) is True
