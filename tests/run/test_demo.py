"""The demo end to end: shards that load for training, a manifest that verifies, byte-identical reruns."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from medcorpus.cli.main import main
from medcorpus.curation.deid.learned.model import MODEL_FILE
from medcorpus.run.demo import run_demo
from medcorpus.tokenize.shard_reader import ShardReader, list_shards
from medcorpus.train import PackedWindows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    manifest = run_demo(out, workers=2)
    return out, manifest


def test_demo_mixes_every_category_at_the_ratio(demo):
    out, manifest = demo
    categories = manifest["mix"]["categories"]
    assert set(categories) == {"biomedical", "clinical", "general"}
    for row in categories.values():
        assert row["achieved_share"] == pytest.approx(row["target_share"], abs=0.03)
    names = [stage["name"] for stage in manifest["stages"]]
    assert names == [
        "sources",
        "clean",
        "lang",
        "quality",
        "dedup",
        "near_dedup",
        "deid",
        "decontam",
        "tokenize",
        "mix",
    ]
    removed = {reason for stage in manifest["stages"] for r in stage.get("removed", {}).values() for reason in r}
    assert {"exact_duplicate", "no_abstract"} <= removed
    assert any(reason.startswith("language_") for reason in removed)
    assert any(reason.startswith("benchmark_") for reason in removed)
    assert manifest["tokenizer"]["vocab_size"] == 32000
    assert all(entry["sha256"] for entry in manifest["inputs"])
    model = [entry for entry in manifest["inputs"] if entry["path"] == str(MODEL_FILE)]  # the deid classifier
    assert model and model[0]["sha256"] == hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()


def test_demo_shards_load_through_the_training_dataset(demo):
    out, manifest = demo
    shards = out / "run" / "shards"
    windows = PackedWindows([str(shards)], seq_len=64, seed=0)
    assert len(windows) > 10
    first = next(iter(windows))["tokens"]
    assert first.shape == (65,)
    total = sum(ShardReader(p).total_tokens for p in list_shards(str(shards)))
    assert total == manifest["mix"]["total_tokens"]


def test_clinical_text_is_deidentified_and_marked_restricted(demo):
    out, _ = demo
    import pyarrow.parquet as pq

    files = sorted((out / "run" / "stages").glob("*_decontam/mimic*/*.parquet"))  # deid runs in decontam's pipeline
    assert files
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    assert rows and all("[**" not in row["text"] and "___" not in row["text"] for row in rows)
    assert all(json.loads(row["metadata"])["restricted"] for row in rows)


def test_manifest_verify_accepts_then_rejects_a_changed_byte(demo):
    out, manifest = demo
    path = out / "run" / "manifest.json"
    runner = CliRunner()
    assert runner.invoke(main, ["manifest", "verify", str(path)]).exit_code == 0
    target = out / "run" / next(e["path"] for e in manifest["outputs"] if e["path"].endswith(".bin"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    result = runner.invoke(main, ["manifest", "verify", str(path)])
    assert result.exit_code == 1 and "sha256 differs" in result.output


@pytest.mark.slow
def test_rerun_with_other_workers_gives_identical_shards(demo, tmp_path):
    out, manifest = demo
    again = run_demo(tmp_path / "again", workers=1)
    first = {e["path"]: e["sha256"] for e in manifest["outputs"] if e["path"].startswith("shards/")}
    second = {e["path"]: e["sha256"] for e in again["outputs"] if e["path"].startswith("shards/")}
    assert first and first == second


def test_sft_demo_curates_and_masks_the_instruction_sets(demo):
    out, _ = demo
    manifest = json.loads((out / "sft" / "manifest.json").read_text())
    removed = {stage["name"]: stage.get("removed") for stage in manifest["stages"] if stage.get("removed")}
    assert removed == {
        "sources": {"flashcards": {"truncated_answer": 1}},
        "dedup": {"wikidoc": {"duplicate_prompt": 1, "exact_duplicate": 1}},
        "decontam": {"medqa": {"benchmark_question_sample_medqa": 1}},
    }
    shards = [ShardReader(p) for p in list_shards(str(out / "sft" / "shards"))]
    assert shards and all(shard.has_masks for shard in shards)
    notes = [shard.tokens(i) for shard in shards for i, c in enumerate(shard.categories) if c == "clinical"]
    from medcorpus.tokenize import load_tokenizer

    text = load_tokenizer("mistral-7b-v0.1").decode(notes[0].tolist())
    assert "[NAME]" in text and "Quenneville" not in text and "Achterberg" not in text  # de-identified turns


@pytest.mark.slow
def test_sft_demo_shards_train_with_the_loss_mask(demo, tmp_path):
    from support.train_shards import read_jsonl, train_run

    out, _ = demo
    args = ["--tiny-llama", "--seq-len", "256", "--micro-batch", "2", "--steps", "2", "--warmup", "1"]
    train_run(tmp_path / "ckpt", str(out / "sft" / "shards"), *args, "--sft", "pack", "--doc-mask")
    metrics = read_jsonl(tmp_path / "ckpt" / "metrics.jsonl")
    assert sorted(metrics) == [(0, 1), (0, 2)]
    assert all(0 < record["trained_tokens"] < 2 * 256 for record in metrics.values())
