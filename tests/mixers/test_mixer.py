"""Token-ratio planning, seeded selection and the mixer step over real shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from support.paths import SAMPLES

from medcorpus.cli.main import main
from medcorpus.mixers import InfeasibleMix, SourceStock, TokenMixer, plan_mix
from medcorpus.mixers.plan import select_documents
from medcorpus.mixers.token_mixer import RestrictedInPublicMix
from medcorpus.run.config import ConfigError
from medcorpus.tokenize.shard_reader import ShardReader, list_shards
from medcorpus.tokenize.shards import ShardWriter


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


def write_source(folder, name, source, category, count, length, seed, restricted=False):
    rng = np.random.default_rng(seed)
    with ShardWriter(str(folder / name), 32000) as writer:
        for i in range(count):
            writer.add(rng.integers(3, 32000, size=length), f"{source}:{i:05d}", source, category, restricted)


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
    for name in ("train_00000.bin", "train_00000.idx", "train_00000.docs.parquet"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes()
    shard = ShardReader(str(outputs[0] / "train_00000"))
    assert set(shard.categories) == {"biomedical", "clinical", "general"}


@pytest.fixture
def tokens_with_mimic(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_source(tokens, "00000", "pubmed", "biomedical", 200, 30, 1)
    write_source(tokens, "00001", "mimic3", "clinical", 40, 20, 2, restricted=True)
    return tokens


def mix_into(tokens, out, **settings):
    mix = {"ratios": {"biomedical": 3, "clinical": 1}, "total_tokens": 2000} | settings
    list(TokenMixer([str(tokens)], str(out), mix, seed=5, vocab_size=32000).run())
    return json.loads((out / "mix_report.json").read_text())


def test_public_mix_refuses_restricted_documents_before_writing(tokens_with_mimic, tmp_path):
    out = tmp_path / "public"
    with pytest.raises(RestrictedInPublicMix) as caught:
        mix_into(tokens_with_mimic, out, public=True)
    message = str(caught.value)
    assert isinstance(caught.value, ConfigError)
    assert "mimic3 (" in message and "pubmed" not in message
    assert "mix.public" in message and "mix.allow_restricted" in message
    assert not out.exists() or not any(out.iterdir())


def test_public_mix_with_allow_restricted_records_what_went_in(tokens_with_mimic, tmp_path):
    report = mix_into(tokens_with_mimic, tmp_path / "allowed", public=True, allow_restricted=True)
    assert report["public"] is True and report["allow_restricted"] is True
    mimic = report["sources"]["mimic3"]
    assert mimic["restricted_documents"] == mimic["selected_documents"] > 0
    assert mimic["restricted_tokens"] == mimic["achieved_tokens"] > 0
    assert report["sources"]["pubmed"]["restricted_documents"] == 0
    assert report["restricted"] == {
        "mimic3": {"documents": mimic["selected_documents"], "tokens": mimic["achieved_tokens"]}
    }
    shards = [ShardReader(prefix) for prefix in list_shards(str(tmp_path / "allowed"))]
    flags = {(source, flag) for shard in shards for source, flag in zip(shard.sources, shard.restricted)}
    assert flags == {("mimic3", True), ("pubmed", False)}


def test_public_mix_without_restricted_sources_and_private_mix_pass(tokens_with_mimic, tmp_path):
    report = mix_into(tokens_with_mimic, tmp_path / "public", public=True, ratios={"biomedical": 1})
    assert report["public"] is True and report["restricted"] == {} and report["unused_sources"] == ["mimic3"]
    report = mix_into(tokens_with_mimic, tmp_path / "private")
    assert report["public"] is False and report["restricted"]["mimic3"]["documents"] > 0


def test_shards_without_restricted_flags_count_as_restricted_in_a_public_mix(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_source(tokens, "00000", "web", "general", 50, 20, 3)
    sidecar = tokens / "00000.docs.parquet"
    pq.write_table(pq.read_table(sidecar).drop_columns(["restricted"]), sidecar)
    assert ShardReader(str(tokens / "00000")).restricted is None
    mix = {"ratios": {"general": 1}, "public": True}
    with pytest.raises(RestrictedInPublicMix, match="web .shards without restricted flags"):
        list(TokenMixer([str(tokens)], str(tmp_path / "out"), mix, seed=5, vocab_size=32000).run())
    report = mix_into(tokens, tmp_path / "private", ratios={"general": 1})
    assert report["unflagged_sources"] == ["web"] and report["restricted"] == {}


def write_run_config(tmp_path, **mix) -> Path:
    config = {
        "output": str(tmp_path / "run"),
        "count_stage_tokens": False,
        "sources": {"mimic": {"type": "mimic", "inputs": [str(SAMPLES / "mimic")]}},
        "curation": {"clean": None, "lang": None, "dedup": None, "deid": None},
        "mix": {"ratios": {"clinical": 1}} | mix,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_medcorpus_run_public_guard_on_the_bundled_mimic_samples(tmp_path):
    runner = CliRunner()
    refused = runner.invoke(main, ["run", str(write_run_config(tmp_path, public=True))])
    assert refused.exit_code == 2, refused.output
    assert "mix.allow_restricted" in refused.output and "mimic3" in refused.output and "mimic4" in refused.output
    shards = tmp_path / "run" / "shards"
    assert not list(shards.glob("*.bin")) and not (shards / "mix_report.json").exists()
    assert not (tmp_path / "run" / "manifest.json").exists()
    config = write_run_config(tmp_path, public=True, allow_restricted=True)
    allowed = runner.invoke(main, ["run", str(config), "--overwrite"])
    assert allowed.exit_code == 0, allowed.output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    release = manifest["release"]
    assert release["public"] is True and release["allow_restricted"] is True
    assert set(release["restricted"]) == {"mimic3", "mimic4"}
    for source, row in release["restricted"].items():
        assert row["tokens"] == manifest["mix"]["sources"][source]["restricted_tokens"] > 0
    assert manifest["config"]["mix"]["public"] is True


def test_source_totals_match_the_full_stocks(tmp_path):
    from medcorpus.mixers.stocks import load_stocks, source_totals

    write_source(tmp_path, "a", "pubmed", "biomedical", 3, 10, 0)
    write_source(tmp_path, "b", "mimic3", "clinical", 2, 7, 1, restricted=True)
    write_source(tmp_path, "c", "pubmed", "biomedical", 1, 4, 2)
    stocks = load_stocks([str(tmp_path)])[1]
    assert source_totals([str(tmp_path)]) == {name: (s.category, s.tokens) for name, s in stocks.items()}
    assert source_totals([str(tmp_path)]) == {"pubmed": ("biomedical", 34), "mimic3": ("clinical", 14)}
