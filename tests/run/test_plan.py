"""`medcorpus plan`: estimates from a sample of each source, the mix on them, missing inputs, the category check."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support.paths import SAMPLES

from medcorpus.cli.main import main
from medcorpus.run.config import ConfigError, validate
from medcorpus.run.plan import check_categories, estimate_run


def config(tmp_path, **mix) -> dict:
    return {
        "output": str(tmp_path / "out"),
        "sources": {
            "pubmed": {"type": "pubmed", "inputs": [str(SAMPLES / "pubmed")], "options": {"languages": []}},
            "pmc": {"type": "pmc", "inputs": [str(SAMPLES / "pmc")]},
            "general": {"type": "general", "inputs": [str(SAMPLES / "general")], "options": {"name": "redpajama"}},
        },
        "curation": {"quality": None},
        "mix": {"ratios": {"biomedical": 3, "general": 1}} | mix,
    }


def test_whole_files_give_exact_counts_and_the_mix(tmp_path):
    plan = estimate_run(validate(config(tmp_path)), sample_files=100)
    by_name = {source.name: source for source in plan.sources}
    assert by_name["pmc"].sampled_files == by_name["pmc"].files > 1
    general = by_name["general"]
    assert general.documents == {"redpajama": pytest.approx(general.read)}  # lang keeps every English document
    assert all(value > 0 for source in plan.sources for value in source.tokens.values())
    mix = plan.mix
    assert mix["feasible"] and mix["total_tokens"] == mix["largest_total_tokens"]
    biomedical = mix["category_tokens"]["biomedical"]
    assert biomedical == pytest.approx(3 * mix["category_tokens"]["general"], rel=1e-6)
    assert max(mix["epochs"].values()) == pytest.approx(1.0)  # the scarcest category is used once
    stages = plan.as_dict()["stages"]
    assert list(stages)[:2] == ["sources", "clean"] and "tokenize" in stages and "mix" in stages
    assert all(stage["disk_bytes"] > 0 for stage in stages.values())


def test_infeasible_mix_and_missing_inputs_are_reported(tmp_path):
    raw = config(tmp_path, total_tokens=10**12, max_epochs=1)
    raw["sources"]["extra"] = {"type": "pubmed", "inputs": [str(tmp_path / "absent")], "fetch": {"kind": "all"}}
    plan = estimate_run(validate(raw, check_inputs=False), sample_files=1)
    assert not plan.mix["feasible"] and "would need" in plan.mix["error"]
    extra = next(source for source in plan.sources if source.name == "extra")
    assert "input not found" in extra.missing and "medcorpus fetch CONFIG --only extra" in extra.missing


def test_category_check_and_cli(tmp_path):
    with pytest.raises(ConfigError, match=r"no source gives: \['clinical'\]"):
        check_categories(validate(config(tmp_path, ratios={"biomedical": 1, "clinical": 1})))
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(config(tmp_path)))
    result = CliRunner().invoke(main, ["plan", str(path), "--json", "--sample-files", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["mix"]["feasible"] is True
    text = CliRunner().invoke(main, ["plan", str(path)])
    assert text.exit_code == 0 and "mix:" in text.output and "CPU hours" in text.output
    bad = CliRunner().invoke(main, ["plan", str(path), "--set", "mix.ratios={clinical: 1}"])
    assert bad.exit_code == 2 and "no source gives" in bad.output


def test_sft_run_is_planned_with_its_chat_template(tmp_path):
    from medcorpus.run.demo import sft_demo_config

    plan = estimate_run(validate(sft_demo_config(tmp_path, 1)), sample_files=10)
    tokens = {key: value for source in plan.sources for key, value in source.tokens.items()}
    # whole files sampled: a set no cross-document step touches is estimated exactly (the demo run gives 264
    # tokens, Llama-2 template included); the others are upper bounds (duplicates, benchmark questions)
    assert tokens["patients"] == pytest.approx(264)
    assert tokens["flashcards"] == pytest.approx(362) and tokens["wikidoc"] > 236 and tokens["medqa"] > 275
    assert plan.mix["feasible"]
