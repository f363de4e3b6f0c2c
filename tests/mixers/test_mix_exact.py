"""Exact token ratios at scale, epoch caps, the train/validation split, the selection record and byte-identical
mixes across reruns and tokenizer worker counts, with a decode round trip back to the source text."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from medcorpus.cli.main import main
from medcorpus.mixers import InfeasibleMix, SourceStock, TokenMixer, plan_mix
from medcorpus.mixers.plan import first_fit, select_documents
from medcorpus.mixers.stocks import load_stocks
from medcorpus.tokenize import load_tokenizer
from medcorpus.tokenize.shard_reader import ShardReader, list_shards
from medcorpus.tokenize.shards import ShardWriter

RATIOS = {"biomedical": 15, "clinical": 1, "general": 4}
# source: (category, documents, mean tokens) -- about 9.6M biomedical, 0.3M clinical, 2M general tokens
CORPUS = {
    "pubmed": ("biomedical", 6000, 500),
    "pmc": ("biomedical", 700, 4000),
    "guidelines": ("biomedical", 300, 2000),
    "mimic3": ("clinical", 400, 750),
    "web": ("general", 2500, 800),
}


def lengths_for(count: int, mean: int, rng: np.random.Generator) -> np.ndarray:
    """Varied document lengths (log-normal, at least 8 tokens) with the given mean."""
    return np.maximum(8, rng.lognormal(np.log(mean) - 0.5, 1.0, size=count).astype(np.int64))


def write_corpus(folder: Path, seed: int = 0) -> dict[str, int]:
    """Shards of random tokens, one per source, ids shuffled within a shard; returns tokens per source."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    totals = {}
    for number, (source, (category, count, mean)) in enumerate(sorted(CORPUS.items())):
        lengths = lengths_for(count, mean, rng)
        tokens = rng.integers(3, 32000, size=int(lengths.sum()), dtype=np.int64)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        with ShardWriter(str(folder / f"{number:05d}"), 32000) as writer:
            for i in rng.permutation(count).tolist():
                writer.add(tokens[bounds[i] : bounds[i + 1]], f"{source}:{i:06d}", source, category, source == "mimic3")
        totals[source] = int(lengths.sum())
    return totals


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exact") / "tokens"
    write_corpus(folder)
    return folder


def mix_run(tokens: Path, out: Path, seed: int = 7, **settings) -> dict:
    mix = {"ratios": RATIOS, "total_tokens": 12_000_000, "shard_tokens": 4_000_000} | settings
    list(TokenMixer([str(tokens)], str(out), mix, seed=seed, vocab_size=32000).run())
    return json.loads((out / "mix_report.json").read_text())


def shard_totals(folder: Path) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Tokens per category and per source per split, counted from the written shards themselves."""
    categories: dict[str, int] = {}
    splits: dict[str, dict[str, int]] = {}
    for prefix in list_shards(str(folder)):
        reader = ShardReader(prefix)
        split = Path(prefix).name.split("_")[0]
        for source, category, length in zip(reader.sources, reader.categories, reader.lengths.tolist()):
            categories[category] = categories.get(category, 0) + length
            splits.setdefault(split, {})[source] = splits.setdefault(split, {}).get(source, 0) + length
    return categories, splits


def test_category_ratios_within_a_tenth_of_a_percent_at_12m_tokens(corpus, tmp_path):
    report = mix_run(corpus, tmp_path / "out")
    categories, splits = shard_totals(tmp_path / "out")
    assert sum(categories.values()) == report["total_tokens"]
    for category, share in RATIOS.items():
        target = 12_000_000 * share / sum(RATIOS.values())
        assert abs(categories[category] - target) / target < 0.001, (category, categories[category], target)
        assert report["categories"][category]["achieved_tokens"] == categories[category]
    assert set(splits) == {"train"}
    for source, row in report["sources"].items():  # natural proportions: each source on its own share too
        assert row["achieved_tokens"] == splits["train"][source]
        assert abs(row["achieved_tokens"] - row["target_tokens"]) / row["target_tokens"] < 0.001, source
    mimic = report["sources"]["mimic3"]
    epochs = 600_000 / mimic["available_tokens"]
    assert 1 < epochs < 3 and mimic["epochs"] == pytest.approx(epochs, rel=0.001)
    assert mimic["whole_epochs"] == int(epochs) and mimic["max_copies"] == int(epochs) + 1


def test_source_weights_within_a_tenth_of_a_percent_with_a_validation_split(corpus, tmp_path):
    weights = {"pubmed": 5, "pmc": 3, "guidelines": 2}
    report = mix_run(corpus, tmp_path / "out", source_weights=weights, validation_fraction=0.01)
    _, splits = shard_totals(tmp_path / "out")
    achieved = {source: splits["train"].get(source, 0) + splits["valid"].get(source, 0) for source in CORPUS}
    biomedical = 12_000_000 * 15 / 20
    for source, weight in weights.items():
        target = biomedical * weight / 10
        assert abs(achieved[source] - target) / target < 0.001, (source, achieved[source], target)
        assert report["sources"][source]["achieved_tokens"] == achieved[source]
        assert abs(report["sources"][source]["relative_error"]) < 0.001
    assert report["sources"]["guidelines"]["whole_epochs"] >= 2  # 1.8M tokens from a much smaller source
    valid = report["splits"]["valid"]
    assert valid["tokens"] == sum(splits["valid"].values()) > 0
    assert 0.003 < valid["tokens"] / report["total_tokens"] < 0.03
    assert (tmp_path / "out" / "valid_00000.idx").is_file() and (tmp_path / "out" / "train_00000.idx").is_file()


def test_first_fit_matches_a_plain_sequential_scan():
    rng = np.random.default_rng(3)
    for _ in range(200):
        lengths = rng.integers(0, 50, size=int(rng.integers(0, 40)))
        target = float(rng.integers(0, 600))
        expected, remaining = np.zeros(len(lengths), dtype=bool), target
        for i, length in enumerate(lengths.tolist()):
            if remaining > 0 and length <= remaining:
                expected[i], remaining = True, remaining - length
        taken, left = first_fit(lengths, target)
        assert np.array_equal(taken, expected) and left == remaining


def test_selection_is_near_exact_on_a_large_stock_without_writing():
    rng = np.random.default_rng(1)
    lengths = lengths_for(200_000, 600, rng)
    stock = SourceStock(
        "pubmed", "biomedical", [f"pubmed:{i}" for i in range(len(lengths))], lengths, np.zeros((len(lengths), 2))
    )
    for target in (10_000_003.0, 0.37 * stock.tokens, 2.61 * stock.tokens):
        chosen = select_documents(stock, target, seed=5)
        assert abs(int(lengths[chosen].sum()) - target) <= 4  # within half the shortest document (8 tokens)
        counts = np.bincount(chosen, minlength=len(lengths))
        assert counts.max() - counts.min() <= 1


def test_epoch_caps_per_source_and_the_limiting_source_named(corpus, tmp_path):
    _, stocks, _ = load_stocks([str(corpus)])
    clinical = stocks["mimic3"].tokens
    budget = int(clinical * 20 * 2.5)  # mimic3 needs 2.5 epochs at 15:1:4
    plan = plan_mix(stocks, RATIOS, budget, max_epochs_per_source={"mimic3": 2.5})
    assert plan.source_targets["mimic3"] == pytest.approx(2.5 * clinical)
    with pytest.raises(InfeasibleMix, match=r"'mimic3' would need 2.50 epochs.*cap of 2.0; .*at most (\d+)") as caught:
        plan_mix(stocks, RATIOS, budget, max_epochs_per_source={"mimic3": 2.0})
    limit = int(str(caught.value).rsplit("at most ", 1)[1].split()[0])
    assert limit == pytest.approx(clinical * 20 * 2.0, abs=1)
    plan_mix(stocks, RATIOS, limit, max_epochs_per_source={"mimic3": 2.0})  # the named limit is feasible
    out = tmp_path / "refused"
    with pytest.raises(InfeasibleMix, match="mimic3"):
        mix_run(corpus, out, total_tokens=budget, max_epochs_per_source={"mimic3": 2.0})
    assert not out.exists() or not any(out.iterdir())


def test_split_is_by_document_and_the_selection_record_matches_the_shards(corpus, tmp_path):
    out = tmp_path / "out"
    report = mix_run(corpus, out, total_tokens=1_000_000, validation_fraction=0.2, shard_tokens=300_000)
    copies: dict[tuple[str, str], int] = {}
    split_of: dict[str, set[str]] = {}
    for prefix in list_shards(str(out)):
        reader = ShardReader(prefix)
        split = Path(prefix).name.split("_")[0]
        assert reader.total_tokens <= 300_000 or len(reader) == 1
        for doc_id in reader.doc_ids:
            copies[(split, doc_id)] = copies.get((split, doc_id), 0) + 1
            split_of.setdefault(doc_id, set()).add(split)
    assert all(len(splits) == 1 for splits in split_of.values())
    assert {split for splits in split_of.values() for split in splits} == {"train", "valid"}
    selection = pq.read_table(out / "selection.parquet").to_pylist()
    assert {(row["split"], row["id"]): row["copies"] for row in selection} == copies
    assert [(row["source"], row["id"]) for row in selection] == sorted((row["source"], row["id"]) for row in selection)
    record = report["selection"]
    assert record["sha256"] == hashlib.sha256((out / "selection.parquet").read_bytes()).hexdigest()
    assert record["rows"] == len(selection)
    for split in ("train", "valid"):
        in_split = [key for key in copies if key[0] == split]
        assert report["splits"][split]["documents"] == sum(copies[key] for key in in_split)
    assert 0.15 < sum(1 for s in split_of.values() if s == {"valid"}) / len(split_of) < 0.25
    assert not list(out.glob(".*tmp"))


def test_two_runs_are_byte_identical_including_split_and_selection(corpus, tmp_path):
    for run in ("a", "b"):
        mix_run(corpus, tmp_path / run, total_tokens=600_000, validation_fraction=0.05, shard_tokens=200_000)
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "valid_00000.bin" in names and "train_00002.idx" in names and "selection.parquet" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    mix_run(corpus, tmp_path / "c", seed=8, total_tokens=600_000, validation_fraction=0.05, shard_tokens=200_000)
    assert (tmp_path / "a" / "train_00000.bin").read_bytes() != (tmp_path / "c" / "train_00000.bin").read_bytes()


# ---- through the command line: real tokenizer, 1, 2 and 4 tokenize workers ----

WORDS = (
    "patient aspirin trial cohort dose renal hepatic insulin therapy outcome blood pressure fever cough "
    "infection antibiotic study randomized placebo guideline recommendation screening adults children"
).split()


def write_documents(folder: Path) -> dict[str, str]:
    """Eight JSONL.gz files of plain English documents over three sources; returns text by id."""
    rng = np.random.default_rng(11)
    texts = {}
    sources = [("pubmed", "biomedical"), ("mimic3", "clinical"), ("web", "general")]
    for number in range(8):
        source, category = sources[number % 3]
        path = folder / source / f"{number:02d}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt") as handle:
            for i in range(40):
                doc_id = f"{source}:{number:02d}{i:03d}"
                sentences = [
                    " ".join(rng.choice(WORDS, size=int(rng.integers(5, 14)))).capitalize() + "."
                    for _ in range(int(rng.integers(2, 30)))
                ]
                texts[doc_id] = " ".join(sentences)
                metadata = {"source": source, "category": category, "license": "test"}
                handle.write(json.dumps({"id": doc_id, "text": texts[doc_id], "metadata": metadata}) + "\n")
    return texts


@pytest.fixture(scope="module")
def cli_mixes(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("cli")
    texts = write_documents(root / "docs")
    runner = CliRunner()
    for workers in (1, 2, 4):
        tokens = root / f"tokens{workers}"
        done = runner.invoke(main, ["tokenize", str(root / "docs"), "-o", str(tokens), "--workers", str(workers)])
        assert done.exit_code == 0, done.output
        config = root / f"mix{workers}.yaml"
        mix = {"ratios": {"biomedical": 3, "clinical": 1, "general": 1}, "total_tokens": 60_000}
        mix |= {"shard_tokens": 20_000, "validation_fraction": 0.1, "max_epochs": 8}
        config.write_text(yaml.safe_dump({"inputs": [tokens.name], "seed": 3, "mix": mix}))
        done = runner.invoke(main, ["mix", str(config), "-o", str(root / f"mixed{workers}")])
        assert done.exit_code == 0, done.output
    return root, texts


def test_mix_is_byte_identical_across_tokenize_worker_counts(cli_mixes):
    root, _ = cli_mixes
    assert len({len(list_shards(str(root / f"tokens{w}"))) for w in (1, 2, 4)}) == 3  # inputs really differ
    names = sorted(p.name for p in (root / "mixed1").iterdir() if p.is_file() and p.name != "manifest.json")
    assert {"train_00000.bin", "valid_00000.idx", "selection.parquet", "mix_report.json"} <= set(names)
    for workers in (2, 4):
        for name in names:
            assert (root / "mixed1" / name).read_bytes() == (root / f"mixed{workers}" / name).read_bytes(), name


def test_a_decoded_shard_window_is_found_in_its_source_text(cli_mixes):
    root, texts = cli_mixes
    tokenizer = load_tokenizer("mistral-7b-v0.1")
    checked = 0
    for prefix in list_shards(str(root / "mixed1")):
        reader = ShardReader(prefix)
        for i in range(0, len(reader), 7):
            tokens = reader.tokens(i)
            assert tokens[0] == tokenizer.bos_id and tokens[-1] == tokenizer.eos_id
            window = tokens[1 + len(tokens) // 4 : 1 + len(tokens) // 4 + 20]
            decoded = tokenizer.decode(window).strip()
            assert len(decoded) > 20 and decoded in texts[reader.doc_ids[i]]
            checked += 1
    assert checked > 20
