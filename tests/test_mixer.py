"""Token-ratio planning, seeded selection and the mixer step over real shards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medcorpus.mixers import InfeasibleMix, SourceStock, TokenMixer, plan_mix
from medcorpus.mixers.plan import select_documents
from medcorpus.tokenize.shards import ShardReader, ShardWriter, list_shards


def stock(source: str, category: str, lengths: list[int]) -> SourceStock:
    return SourceStock(
        source,
        category,
        [f"{source}:{i}" for i in range(len(lengths))],
        np.array(lengths, dtype=np.int64),
        [(0, i) for i in range(len(lengths))],
    )


def test_scarcest_category_sets_the_budget():
    stocks = {
        "pubmed": stock("pubmed", "biomedical", [100] * 150),
        "mimic3": stock("mimic3", "clinical", [50] * 4),
        "web": stock("web", "general", [10] * 1000),
    }
    plan = plan_mix(stocks, {"biomedical": 15, "clinical": 1, "general": 4})
    assert plan.budget == pytest.approx(200 * 20)
    assert plan.source_targets == pytest.approx({"pubmed": 3000, "mimic3": 200, "web": 800})


def test_infeasible_plan_names_the_source_and_the_limit():
    stocks = {"pubmed": stock("pubmed", "biomedical", [100] * 10), "web": stock("web", "general", [10] * 10)}
    with pytest.raises(InfeasibleMix, match=r"'pubmed' would need 8.00 epochs.*at most 8000"):
        plan_mix(stocks, {"biomedical": 1, "general": 1}, total_tokens=16000, max_epochs=4)


def test_selection_takes_whole_epochs_then_a_seeded_fraction():
    source = stock("pubmed", "biomedical", list(range(1, 101)))
    chosen = select_documents(source, 2.5 * source.tokens, seed=3)
    counts = np.bincount(chosen, minlength=100)
    assert counts.min() >= 2 and counts.max() <= 3
    assert abs(int(source.lengths[chosen].sum()) - 2.5 * source.tokens) <= 100
    assert np.array_equal(chosen, select_documents(source, 2.5 * source.tokens, seed=3))
    assert not np.array_equal(chosen, select_documents(source, 2.5 * source.tokens, seed=4))


def write_source(folder, name, source, category, count, length, seed):
    rng = np.random.default_rng(seed)
    with ShardWriter(str(folder / name), 32000) as writer:
        for i in range(count):
            writer.add(rng.integers(3, 32000, size=length), f"{source}:{i:05d}", source, category)


def test_mixer_hits_ratios_and_is_deterministic(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_source(tokens, "00000", "pubmed", "biomedical", 400, 60, 1)
    write_source(tokens, "00001", "mimic3", "clinical", 30, 40, 2)
    write_source(tokens, "00002", "web", "general", 300, 20, 3)
    mix = {"ratios": {"biomedical": 15, "clinical": 1, "general": 4}, "total_tokens": 20000, "shard_tokens": 8000}
    outputs = []
    for run in ("a", "b"):
        step = TokenMixer([str(tokens)], str(tmp_path / run), mix, seed=11, vocab_size=32000)
        list(step.run())
        outputs.append(tmp_path / run)
    report = json.loads((outputs[0] / "mix_report.json").read_text())
    for category, row in report["categories"].items():
        assert row["achieved_share"] == pytest.approx(row["target_share"], abs=0.01), category
    assert report["sources"]["mimic3"]["epochs"] == pytest.approx(1000 / 1200, abs=0.05)
    assert len(list_shards(str(outputs[0]))) >= 2
    for name in ("mix_00000.bin", "mix_00000.idx", "mix_00000.docs.parquet"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes()
    shard = ShardReader(str(outputs[0] / "mix_00000"))
    assert set(shard.categories) == {"biomedical", "clinical", "general"}
