"""Benchmark decontamination: loaders for the real formats, n-gram drop and cut, PMIDs, auditable removals."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from datatrove.data import Document

from medcorpus.cli.main import main
from medcorpus.curation.decontam.benchmarks import BenchmarkError, load_items, resolve_benchmarks
from medcorpus.curation.decontam.decontaminator import Decontaminator, benchmark_report, cut_passages, words_of
from medcorpus.io.formats import make_writer
from medcorpus.run.config import ConfigError, load_config

FILLER = (
    "The committee reviewed staffing levels on the surgical wards during the winter months and agreed to publish "
    "a short summary of its findings for every department before the next quarterly meeting took place."
)


def doc(text: str, source: str = "pubmed", pmid: str | None = None, doc_id: str = "pubmed:1") -> Document:
    metadata = {"source": source, "category": "biomedical", "license": "x"} | ({"pmid": pmid} if pmid else {})
    return Document(text=text, id=doc_id, metadata=metadata)


def medqa_file(tmp_path, question: str, options: dict) -> str:
    path = tmp_path / "bench.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": question, "options": options, "answer": "A"}) + "\n")
    return str(path)


def test_real_formats_are_detected_and_loaded(shared_data):
    files = {f.name: f for f in resolve_benchmarks([str(shared_data / "benchmarks")])}
    assert {name: f.format for name, f in files.items()} == {
        "medmcqa": "aistairc",
        "medqa_en": "aistairc",
        "medqa_en_4op": "aistairc",
        "mmlu_en_medical": "aistairc",
        "pubmedqa": "aistairc",
        "medmcqa_readme_example": "medmcqa",
        "phrases_no_exclude_test": "medqa",
        "ori_pqal": "pubmedqa",
        "test_ground_truth": "pubmedqa",
    }
    assert {name for name, f in files.items() if f.match_ids} == {"pubmedqa", "test_ground_truth"}
    pqal = list(load_items(files["ori_pqal"]))
    raw = json.loads((shared_data / "benchmarks/pubmedqa/ori_pqal.json").read_text())
    assert len(pqal) == 1000 and pqal[0].item_id == pqal[0].pmid == next(iter(raw))
    assert dict(pqal[0].texts)["context"] == " ".join(next(iter(raw.values()))["CONTEXTS"])
    medqa = list(load_items(files["phrases_no_exclude_test"]))
    assert len(medqa) == 1273 and [f for f, _ in medqa[0].texts].count("option") == 4
    assert len(list(load_items(files["test_ground_truth"]))) == 500
    example = next(load_items(files["medmcqa_readme_example"]))
    assert dict(example.texts)["answer"].startswith("Circulating levels") and example.item_id.startswith("4e1715fe")
    aistairc_pubmedqa = next(load_items(files["pubmedqa"]))
    assert aistairc_pubmedqa.pmid == "24507422" and "option" not in dict(aistairc_pubmedqa.texts)


def test_bad_benchmarks_fail_up_front_naming_them(shared_data, tmp_path):
    with pytest.raises(BenchmarkError, match="nowhere.jsonl"):
        resolve_benchmarks([str(tmp_path / "nowhere.jsonl")])
    pqal = str(shared_data / "benchmarks/pubmedqa/ori_pqal.json")
    with pytest.raises(BenchmarkError, match="ori_pqal.json: not format 'medqa'"):
        resolve_benchmarks([{"path": pqal, "format": "medqa"}])
    with pytest.raises(BenchmarkError, match="unknown format 'medqa5'"):
        Decontaminator([{"path": pqal, "format": "medqa5"}])
    (tmp_path / "other.jsonl").write_text('{"title": "not a benchmark"}\n')
    with pytest.raises(BenchmarkError, match="other.jsonl: not a known format"):
        resolve_benchmarks([str(tmp_path / "other.jsonl")])
    config = tmp_path / "run.yaml"
    config.write_text(
        "output: out\nsources: {p: {type: pubmed, inputs: [" + str(shared_data / "pubmed") + "]}}\n"
        "mix: {ratios: {biomedical: 1}}\ncuration: {decontam: {benchmarks: [{path: bench, format: mmlu}]}}\n"
    )
    with pytest.raises(ConfigError, match="curation.decontam.benchmarks: benchmark input not found: .*bench"):
        load_config(config)


def test_config_accepts_specs_with_relative_paths(shared_data, tmp_path):
    (tmp_path / "bench").symlink_to(shared_data / "benchmarks")
    config = tmp_path / "run.yaml"
    config.write_text(
        "output: out\nsources: {p: {type: pubmed, inputs: [" + str(shared_data / "pubmed") + "]}}\n"
        "mix: {ratios: {biomedical: 1}}\ncuration: {decontam: {action: cut, benchmarks: [bench/medqa_us_4options,"
        " {path: bench/pubmedqa/ori_pqal.json, format: pubmedqa, name: pqa, fields: [context]}]}}\n"
    )
    decontam = load_config(config).curation.decontam
    assert decontam.benchmarks[1].path == str(tmp_path / "bench/pubmedqa/ori_pqal.json")
    assert [p.rsplit("/", 1)[1] for p in decontam.files()] == ["phrases_no_exclude_test.jsonl", "ori_pqal.json"]
    step = Decontaminator(**decontam.model_dump())
    assert [(f.name, f.fields) for f in step.files] == [
        ("phrases_no_exclude_test", ("question", "option", "option_set", "context", "answer")),
        ("pqa", ("context",)),
    ]


def test_leaked_context_is_dropped_with_item_and_match_count(shared_data):
    raw = json.loads((shared_data / "benchmarks/pubmedqa/ori_pqal.json").read_text())
    pmid, entry = list(raw.items())[3]
    spec = {"path": str(shared_data / "benchmarks/pubmedqa/ori_pqal.json"), "name": "pubmedqa"}
    leaked = doc(FILLER + " " + entry["CONTEXTS"][0] + " " + FILLER)
    assert Decontaminator([spec]).filter(leaked) == (False, "benchmark_pubmedqa")
    assert leaked.metadata["decontam_item"] == pmid
    assert leaked.metadata["decontam_matches"] == len(words_of(entry["CONTEXTS"][0])) - 12
    assert Decontaminator([{**spec, "fields": ["question"]}]).filter(doc(leaked.text)) is True
    assert Decontaminator([spec]).filter(doc(FILLER + " " + FILLER)) is True


def test_options_match_as_a_set_only_when_asked(shared_data):
    path = shared_data / "benchmarks/medqa_us_4options/phrases_no_exclude_test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    index, row = next(
        (i, r)
        for i, r in enumerate(rows)
        if all(len(words_of(o)) < 13 for o in r["options"].values())
        and len(words_of(" ".join(r["options"].values()))) >= 20
    )
    listed = doc(FILLER + " " + " ".join(row["options"][k] for k in sorted(row["options"])) + " " + FILLER)
    assert Decontaminator([str(path)]).filter(listed) == (False, "benchmark_phrases_no_exclude_test")
    assert listed.metadata["decontam_item"] == str(index)
    only_options = Decontaminator([{"path": str(path), "fields": ["question", "option"]}])
    assert only_options.filter(doc(listed.text)) is True


def test_cut_keeps_the_rest_when_enough_remains(tmp_path):
    question = "Which enzyme deficiency causes the accumulation of homogentisic acid in connective tissue and urine?"
    bench = medqa_file(tmp_path, question, {"A": "Homogentisate oxidase", "B": "Phenylalanine hydroxylase"})
    step = Decontaminator([bench], action="cut", min_words_left=30)
    kept = doc(FILLER + " Quiz: " + question + " " + FILLER)
    assert step.filter(kept) is True
    assert kept.text == FILLER + " Quiz: " + FILLER
    assert kept.metadata["decontam_cut_words"] == len(words_of(question))
    assert kept.metadata["decontam_item"] == "q1"
    short = doc("Quiz: " + question + " Good luck.")
    assert step.filter(short) == (False, "benchmark_bench")
    assert short.text == "Quiz: " + question + " Good luck."  # the excluded copy keeps its original text


def test_cut_rule_word_boundaries():
    text = "Keep this.\nalpha beta, gamma-delta. Tail words here"
    words = words_of(text)
    first = [m.group() for m in words].index("alpha")
    import numpy as np

    assert cut_passages(text, words, np.array([first]), 4) == ("Keep this.\nTail words here", 4)
    assert cut_passages("a b-c d", words_of("a b-c d"), np.array([1]), 1) == ("a c d", 1)


def test_pubmedqa_test_pmids_removed_by_id(shared_data):
    split = shared_data / "benchmarks/pubmedqa/test_ground_truth.json"
    test_pmid = next(iter(json.loads(split.read_text())))
    step = Decontaminator([str(split)])
    paper = doc(FILLER, "pmc", test_pmid, "pmc:PMC1")
    assert step.filter(paper) == (False, "benchmark_pmid_test_ground_truth")
    assert paper.metadata["decontam_item"] == test_pmid
    assert step.filter(doc(FILLER, "general", test_pmid)) is True
    assert Decontaminator([str(split)], match_pmids=False).filter(doc(FILLER, "pubmed", test_pmid)) is True
    pqal = shared_data / "benchmarks/pubmedqa/ori_pqal.json"
    train_pmid = next(p for p in json.loads(pqal.read_text()) if p not in json.loads(split.read_text()))
    assert Decontaminator([str(pqal)]).filter(doc(FILLER, "pubmed", train_pmid)) is True
    assert (
        Decontaminator([{"path": str(pqal), "match_ids": True}]).filter(doc(FILLER, "pubmed", train_pmid))[0] is False
    )


def test_why_is_this_paper_missing_is_one_query(shared_data, tmp_path):
    import pyarrow.parquet as pq

    raw = json.loads((shared_data / "benchmarks/pubmedqa/ori_pqal.json").read_text())
    pmid, entry = list(raw.items())[7]
    test_pmid = next(iter(json.loads((shared_data / "benchmarks/pubmedqa/test_ground_truth.json").read_text())))
    docs = [
        doc(FILLER + " " + entry["CONTEXTS"][-1], pmid="111", doc_id="pubmed:111"),
        doc(FILLER, pmid=test_pmid, doc_id=f"pubmed:{test_pmid}"),
        doc(FILLER + " A different closing sentence about ward rounds.", pmid="222", doc_id="pubmed:222"),
    ]
    with make_writer(str(tmp_path / "in")) as writer:
        for document in docs:
            writer.write(document)
    settings = f"benchmarks=[{shared_data / 'benchmarks/pubmedqa'}]"
    result = CliRunner().invoke(
        main, ["curate", "decontam", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--set", settings]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(m) for m in pq.read_table(tmp_path / "out" / "excluded")["metadata"].to_pylist()]
    keys = ["filter_step", "filter_reason", "decontam_item", "decontam_matches"]
    why = [{key: row[key] for key in keys} for row in rows if row.get("pmid") == "111"]
    matches = len(words_of(entry["CONTEXTS"][-1])) - 12
    assert why == [
        {
            "filter_step": "decontam",
            "filter_reason": "benchmark_ori_pqal",
            "decontam_item": pmid,
            "decontam_matches": matches,
        }
    ]
    assert [row["filter_reason"] for row in rows if row["pmid"] == test_pmid] == ["benchmark_pmid_test_ground_truth"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    removed = manifest["stages"][0]["removed"]["pubmed"]
    assert removed == {"benchmark_ori_pqal": 1, "benchmark_pmid_test_ground_truth": 1}
    report = benchmark_report(tmp_path / "out")
    assert report["ori_pqal"]["documents"] == 1 and report["ori_pqal"]["words"] == len(words_of(docs[0].text))
    assert report["ori_pqal"]["matches"] == {"ngram": 1} and report["ori_pqal"]["sources"] == {"pubmed": {"ngram": 1}}
    assert report["test_ground_truth"] == {
        "documents": 1,
        "matches": {"pmid": 1},
        "sources": {"pubmed": {"pmid": 1}},
        "words": len(words_of(FILLER)),
    }


@pytest.mark.slow
def test_real_pubmed_baseline_against_all_benchmarks(shared_data):
    from medcorpus.sources import reader_class

    docs = list(reader_class("pubmed")([str(shared_data / "pubmed/pubmed20n0014.xml.gz")]).run())
    step = Decontaminator([str(shared_data / "benchmarks")])
    started = time.perf_counter()
    index = step.index
    built = time.perf_counter() - started
    assert len(index) > 500_000 and index.nbytes < 32 << 20  # 12 bytes a pair plus a 2 MiB prefilter
    started = time.perf_counter()
    hits = [d.id for d in docs if step.filter(d) is not True]
    elapsed = time.perf_counter() - started
    megabytes = sum(len(d.text.encode()) for d in docs) / 1e6
    print(
        f"\n{len(docs)} abstracts, {len(hits)} hit; index {len(index)} pairs, {index.nbytes / 2**20:.1f} MiB, "
        f"built in {built:.1f} s; {len(docs) / elapsed:.0f} docs/s, {megabytes / elapsed:.2f} MB/s"
    )
    assert len(hits) <= 5  # a 1970s-80s baseline file; PubMedQA's PMIDs are later
    raw = json.loads((shared_data / "benchmarks/pubmedqa/ori_pqal.json").read_text())
    control = docs[100]
    control.text = control.text + "\n\n" + next(iter(raw.values()))["CONTEXTS"][1]
    assert step.filter(control)[1] in {"benchmark_ori_pqal", "benchmark_pubmedqa"}


def test_an_index_shared_before_forking_is_what_every_copy_uses(shared_data, monkeypatch):
    """`share` builds the index once (the local executor calls it before forking its workers); a copy of the step,
    as each task gets one, uses it instead of building its own, and the step itself stays small."""
    import pickle

    from medcorpus.curation.decontam import decontaminator as module

    monkeypatch.setattr(module, "_SHARED", {})
    step = Decontaminator([str(shared_data / "benchmarks")])
    small = len(pickle.dumps(step))
    step.share()
    assert len(pickle.dumps(step)) == small < 100_000
    built = []
    monkeypatch.setattr(module, "_load", lambda *args: built.append(args))
    copy = pickle.loads(pickle.dumps(step))
    assert copy.index is module._SHARED[module._shared_key(step.files, step.n)][2] and not built
    assert len(copy.index) > 800_000 and copy.pmids


def test_a_shared_index_is_not_used_once_a_benchmark_file_changed(tmp_path, monkeypatch):
    from medcorpus.curation.decontam import decontaminator as module

    monkeypatch.setattr(module, "_SHARED", {})
    bench = tmp_path / "bench.jsonl"
    record = {"question": " ".join(f"word{i}" for i in range(20)), "options": {"A": "yes", "B": "no"}}
    bench.write_text(json.dumps(record) + "\n")
    step = Decontaminator([{"path": str(bench), "name": "tiny", "format": "medqa"}], n=3)
    step.share()
    before = module._shared_key(step.files, step.n)
    bench.write_text(json.dumps(record | {"question": " ".join(f"other{i}" for i in range(20))}) + "\n")
    assert module._shared_key(step.files, step.n) != before
    leaked = Document(" ".join(f"other{i}" for i in range(20)), "d", metadata={"source": "x"})
    assert step.filter(leaked) == (False, "benchmark_tiny")  # the index of the file as it is now
