"""The seed-corpus recipes in examples/ run end to end on a small local mirror and mix as their headers say."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from support.paths import EXAMPLES, SAMPLES

from medcorpus.cli.main import main


def mirror(tmp_path: Path, data: Path, recipe: str) -> Path:
    """`tmp/examples/<recipe>` beside `tmp/data/...` laid out as the downloaders write it (links to real files)."""
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLES / recipe, tmp_path / "examples" / recipe)
    root = tmp_path / "data"
    (root / "pubmed" / "baseline").mkdir(parents=True)
    (root / "pubmed" / "baseline" / "pubmed20n0014.xml.gz").symlink_to(data / "pubmed" / "pubmed20n0014.xml.gz")
    (root / "pmc").symlink_to(data / "pmc_oa")
    (root / "guidelines").symlink_to(data / "guidelines")
    (root / "replay").mkdir()
    for path in sorted((data / "general" / "dolma_test_data").glob("*.json*")):
        (root / "replay" / path.name).symlink_to(path)
    (root / "mimic").symlink_to(SAMPLES / "mimic")  # MIMIC itself is credentialed: our own sample notes
    return tmp_path / "examples" / recipe


def planned(config: Path, sample_files: int) -> dict:
    args = ["plan", str(config), "--set", "tokenizer.name=mistral-7b-v0.1", "--json", "--sample-files"]
    result = CliRunner().invoke(main, [*args, str(sample_files)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def run_recipe(config: Path) -> tuple[dict, dict]:
    args = ["run", str(config), "--set", "tokenizer.name=mistral-7b-v0.1", "--workers", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = Path(result.output.strip().splitlines()[-1].split(": ", 1)[1])
    return json.loads((out / "shards" / "mix_report.json").read_text()), json.loads((out / "manifest.json").read_text())


def valid_share(row: dict) -> float:
    documents = {split: row["splits"][split]["documents"] for split in ("train", "valid")}
    return documents["valid"] / (documents["train"] + documents["valid"])


@pytest.mark.slow
def test_meditron_gap_replay(tmp_path, shared_data):
    config = mirror(tmp_path, shared_data, "meditron_gap_replay.yaml")
    report, manifest = run_recipe(config)
    categories = report["categories"]
    assert set(categories) == {"biomedical", "general"}
    assert categories["biomedical"]["achieved_share"] == pytest.approx(0.99, abs=0.001)
    assert categories["general"]["achieved_share"] == pytest.approx(0.01, abs=0.001)
    sources = report["sources"]
    assert {"guidelines", "pmc", "pubmed", "replay"} <= set(sources)
    # natural sizes within biomedical: every biomedical source in proportion to what it offers
    biomedical = ["guidelines", "pmc", "pubmed"]
    offered = sum(sources[s]["available_tokens"] for s in biomedical)
    taken = sum(sources[s]["achieved_tokens"] for s in biomedical)
    for name in biomedical:
        assert sources[name]["achieved_tokens"] / taken == pytest.approx(
            sources[name]["available_tokens"] / offered, abs=0.01
        )
    # validation: 3% of papers and abstracts, 5% of guidelines, no replay (rounded per source, by document)
    assert valid_share(sources["pubmed"]) == pytest.approx(0.03, abs=0.002)
    assert sources["guidelines"]["splits"]["valid"]["documents"] == round(0.05 * sum(
        sources["guidelines"]["splits"][s]["documents"] for s in ("train", "valid")
    ))  # fmt: skip
    assert sources["replay"]["splits"]["valid"]["documents"] == 0
    assert manifest["tokenizer"]["add_bos"] is False and manifest["tokenizer"]["add_eos"] is True
    # `medcorpus plan` before the run, checked against it: per source, documents and tokens after the
    # quality step within 20% (the one PubMed file is read whole: within 1%); the mixed total within 10%
    plan = planned(config, sample_files=3)
    after_quality = next(stage for stage in manifest["stages"] if stage["name"] == "quality")["out"]
    estimates = {key: (s["documents"][key], s["tokens"][key]) for s in plan["sources"] for key in s["tokens"]}
    assert set(estimates) == set(after_quality)
    for key, (documents, tokens) in estimates.items():
        tolerance = 0.01 if key == "pubmed" else 0.2
        assert documents == pytest.approx(after_quality[key]["documents"], rel=tolerance), key
        assert tokens == pytest.approx(after_quality[key]["tokens"], rel=tolerance), key
    assert plan["mix"]["total_tokens"] == pytest.approx(report["total_tokens"], rel=0.1)


@pytest.mark.slow
def test_me_llama(tmp_path, shared_data):
    report, _manifest = run_recipe(mirror(tmp_path, shared_data, "me_llama.yaml"))
    shares = {category: row["achieved_share"] for category, row in report["categories"].items()}
    assert shares == pytest.approx({"biomedical": 0.75, "clinical": 0.05, "general": 0.2}, abs=0.01)
    assert report["public"] is False and report["allow_restricted"] is False
    clinical = {name for name, row in report["sources"].items() if name.startswith("mimic")}
    assert clinical and set(report["restricted"]) == clinical
    for name in clinical:
        assert report["sources"][name]["restricted_documents"] == sum(
            report["sources"][name]["splits"][s]["documents"] for s in ("train", "valid")
        )
    assert report["validation_fraction"] == 0.01
    assert report["splits"]["valid"]["documents"] > 0


def meadow_mirror(tmp_path: Path, data: Path) -> Path:
    """The Meadow recipe over our sample sets and the real MedQA test questions (as a Meadow-like set), its
    benchmarks the real MedQA, PubMedQA and MedMCQA files; sources with no sample here are left out."""
    (tmp_path / "examples").mkdir()
    root, samples = tmp_path / "data", SAMPLES / "instructions"
    sets = {
        "flashcards": samples / "meadow_flashcards.json",
        "wikidoc": samples / "meadow_wikidoc.jsonl",
        "wikidoc_patient": samples / "sharegpt_patient_questions.jsonl",
        "medqa": data / "benchmarks/medqa_us_4options/phrases_no_exclude_test.jsonl",  # every item a test question
    }
    for name, path in sets.items():
        (root / "meadow" / name).mkdir(parents=True)
        (root / "meadow" / name / path.name).symlink_to(path)
    (root / "benchmarks").mkdir()
    (root / "benchmarks/medqa_usmle_test.jsonl").symlink_to(sets["medqa"])
    (root / "benchmarks/pubmedqa_test").symlink_to(data / "benchmarks/pubmedqa")
    (root / "benchmarks/medmcqa_dev.json").symlink_to(
        data / "benchmarks/medmcqa_readme_example/medmcqa_readme_example.json"
    )
    recipe = yaml.safe_load((EXAMPLES / "medalpaca_meadow.yaml").read_text())
    recipe["sources"] = {name: recipe["sources"][name] for name in sets}
    config = tmp_path / "examples" / "medalpaca_meadow.yaml"
    config.write_text(yaml.safe_dump(recipe))
    return config


@pytest.mark.slow
def test_medalpaca_meadow(tmp_path, shared_data):
    from medcorpus.tokenize import ShardReader, list_shards, load_tokenizer

    report, manifest = run_recipe(meadow_mirror(tmp_path, shared_data))
    removed = {stage["name"]: stage.get("removed", {}) for stage in manifest["stages"]}
    assert removed["sources"] == {"flashcards": {"truncated_answer": 1}}
    assert removed["dedup"] == {"wikidoc": {"duplicate_prompt": 1, "exact_duplicate": 1}}
    # all 1,273 test questions go: one as a near duplicate of another test question's prompt, one that fastText
    # scores below 0.65 as English, every other one by question matching
    assert removed["near_dedup"] == {"medqa": {"near_duplicate_prompt": 1}}
    assert removed["lang"] == {"medqa": {"language_low_score": 1}}
    assert removed["decontam"] == {"medqa": {"benchmark_question_medqa": 1271}}
    assert set(report["sources"]) == {"flashcards", "wikidoc", "wikidoc_patient"}
    assert manifest["tokenizer"]["chat"] == {"template": "llama-2", "loss": "answers", "system": None}
    tokenizer = load_tokenizer("mistral-7b-v0.1")
    shards = [ShardReader(prefix) for prefix in list_shards(manifest["config"]["output"] + "/shards")]
    answers = 0
    for shard in shards:
        for i in range(len(shard)):
            tokens, mask = shard.tokens(i), shard.mask(i).astype(bool)
            assert tokens[0] == tokenizer.bos_id and tokens[-1] == tokenizer.eos_id and mask[-1]
            trained = tokenizer.decode(tokens[mask].tolist())
            prompt = tokenizer.decode(tokens[~mask].tolist())
            assert "[INST]" in prompt and "[INST]" not in trained and trained.strip()
            answers += 1
    assert answers == sum(row["selected_documents"] for row in report["sources"].values()) == 12
