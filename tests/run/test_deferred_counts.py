"""Stage token counts deferred to the tokenize stage (`run/deferred.py`) give the figures of counting at every
stage, on the demo run (whose steps change texts, cut and remove documents at every stage)."""

from __future__ import annotations

import gzip
import json

import pytest
from datatrove.data import Document

from medcorpus.documents import PREVIOUS_TEXT, STAGE_TOKENS, replace_text
from medcorpus.io.formats import make_writer
from medcorpus.run.config import validate
from medcorpus.run.counts import StageCounter
from medcorpus.run.deferred import PENDING, Settlement, digest
from medcorpus.run.demo import demo_config
from medcorpus.run.runner import run


def run_demo(out, defer: bool, boilerplate: bool = False) -> dict:
    config = demo_config(out, workers=2)
    if boilerplate:  # its first pass writes the cleaned documents to a work folder before the stage counter
        config["curation"]["clean"] = {"boilerplate": {"min_documents": 2}}
        config["format"] = "jsonl"  # and the other intermediate format
    run(validate(config), defer_counts=defer)
    return json.loads((out / "run" / "manifest.json").read_text())


def figures(manifest: dict) -> list[tuple]:
    return [(stage["name"], stage.get("in"), stage.get("out"), stage.get("removed")) for stage in manifest["stages"]]


@pytest.mark.slow
def test_deferred_counts_equal_counting_at_every_stage(tmp_path):
    deferred = run_demo(tmp_path / "deferred", True)
    eager = run_demo(tmp_path / "eager", False)
    assert figures(deferred) == figures(eager)
    counted = [stage for stage in deferred["stages"] if stage["name"] not in ("tokenize", "mix")]
    assert len(counted) == 8 and all(
        values["tokens"] > 0 for stage in counted for values in stage["out"].values() if values["documents"]
    )
    stages = tmp_path / "deferred" / "run" / "stages"
    assert list(stages.glob("*/stats/settled/*.json")) and not list((tmp_path / "eager").rglob("settled"))
    removed = {stage["name"]: stage["removed"] for stage in counted}
    assert all(removed[name] for name in ("lang", "dedup", "decontam"))  # settled by the exclusion writers
    assert sorted(path.name for path in (stages / "02_clean" / "stats" / "settled").iterdir()) == [
        "03_lang-excluded-00000.json",
        "05_dedup-excluded-00001.json",
        "07_deid-stats-00000.json",  # deid changed texts: its counter settled the replaced ones
        "07_deid-stats-00001.json",
        "08_decontam-excluded-00000.json",
        "09_tokenize-00000.json",
        "09_tokenize-00001.json",
    ]


@pytest.mark.slow
def test_deferred_counts_with_boilerplate_removal_and_jsonl(tmp_path):
    deferred = run_demo(tmp_path / "deferred", True, boilerplate=True)
    assert figures(deferred) == figures(run_demo(tmp_path / "eager", False, boilerplate=True))
    settled = tmp_path / "deferred" / "run" / "stages" / "01_sources" / "stats" / "settled"
    assert "02_clean-stats-changed-00000.json" in {path.name for path in settled.iterdir()}


def test_replace_text_keeps_the_replaced_text_only_while_a_count_is_pending():
    plain = Document("first", "a", metadata={STAGE_TOKENS: [1, 7]})
    replace_text(plain, "second")
    assert plain.text == "second" and PREVIOUS_TEXT not in plain.metadata
    waiting = Document("first", "b", metadata={STAGE_TOKENS: [digest("first"), PENDING, 0]})
    replace_text(waiting, "second")
    replace_text(waiting, "third")
    assert waiting.text == "third" and waiting.metadata[PREVIOUS_TEXT] == "first"  # the text the count is for


def test_a_counter_refuses_a_text_changed_behind_its_back(tmp_path):
    settlement = Settlement((str(tmp_path / "a" / "stats"), str(tmp_path / "b" / "stats")), "mistral-7b-v0.1")
    counter = StageCounter(str(tmp_path / "b" / "stats"), "mistral-7b-v0.1", settlement=settlement)
    changed = Document("new text", "x", metadata={"source": "s", STAGE_TOKENS: [digest("old text"), PENDING, 0]})
    with pytest.raises(RuntimeError, match="replace_text"):
        list(counter.run(iter([changed])))


def test_the_replaced_text_is_never_written(tmp_path):
    document = Document("cleaned", "x", metadata={"source": "s", PREVIOUS_TEXT: "raw note text"})
    with make_writer(str(tmp_path), "jsonl") as writer:
        writer.write(document)
    written = gzip.decompress(next(tmp_path.rglob("*.jsonl.gz")).read_bytes()).decode()
    assert "raw note text" not in written and "cleaned" in written


def test_the_sources_stage_drops_an_entry_from_another_run(tmp_path):
    settlement = Settlement((str(tmp_path / "a" / "stats"), str(tmp_path / "b" / "stats")), "mistral-7b-v0.1")
    counter = StageCounter(str(tmp_path / "a" / "stats" / "general"), "mistral-7b-v0.1", settlement=settlement)
    read = [Document("text", str(i), metadata={"source": "s", STAGE_TOKENS: entry}) for i, entry in
            enumerate([[digest("text"), PENDING, 5], [digest("text"), 3]])]  # fmt: skip
    assert [STAGE_TOKENS in d.metadata for d in counter.run(iter(read))] == [False, False]
