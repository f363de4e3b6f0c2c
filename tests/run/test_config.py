"""Config validation: errors name the key and say what is wrong, before anything runs."""

from __future__ import annotations

import pytest
from support.paths import SAMPLES

from medcorpus.run.config import ConfigError, load_config, validate


def base(tmp_path) -> dict:
    return {
        "output": str(tmp_path / "out"),
        "sources": {"pubmed": {"type": "pubmed", "inputs": [str(SAMPLES / "pubmed")]}},
        "mix": {"ratios": {"biomedical": 1}},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["sources"]["pubmed"].update(type="pubmedx"), r"sources\.pubmed\.type"),
        (lambda c: c["sources"]["pubmed"].update(inputs=["/nope/*.xml"]), r"sources\.pubmed\.inputs: .*/nope"),
        (
            lambda c: c["sources"]["pubmed"].update(options={"min_abstract": 3}),
            r"sources\.pubmed\.options\.min_abstract",
        ),
        (lambda c: c["mix"].update(ratios={"biomed": 1}), r"mix\.ratios: .*biomed"),
        (lambda c: c.update(workers=0), r"workers: "),
        (lambda c: c.update(colour="red"), r"colour: Extra inputs"),
        (lambda c: c.pop("mix"), r"^mix: Field required"),
        (
            lambda c: (
                c["curation"].update(lang={"min_score": 2})
                if "curation" in c
                else c.update(curation={"lang": {"min_score": 2}})
            ),
            r"curation\.lang\.min_score",
        ),
        (lambda c: c.update(sft={"template": "alpaca"}), r"sft\.template: Input should be"),
        (lambda c: c.update(sft={}), r"sources\.pubmed\.type: a run with an sft section .* not pubmed"),
    ],
)
def test_errors_name_the_key(tmp_path, change, message):
    config = base(tmp_path)
    change(config)
    with pytest.raises(ConfigError, match=message):
        validate(config)


def test_yaml_paths_are_relative_to_the_config_file(tmp_path):
    source = f"{{type: pubmed, inputs: ['{SAMPLES / 'pubmed'}']}}"
    (tmp_path / "run.yaml").write_text(f"output: out\nsources:\n  p: {source}\nmix: {{ratios: {{biomedical: 1}}}}\n")
    config = load_config(tmp_path / "run.yaml")
    assert config.output == str(tmp_path / "out")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("sources: [1, 2")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_overrides_lenient_inputs_and_per_source_validation(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "output: out\nsources:\n  pubmed: {type: pubmed, inputs: [data/pubmed], fetch: {kind: all}}\n"
        "mix: {ratios: {biomedical: 1}, validation_fraction_per_source: {pubmed: 0.05}}\n"
        "tokenizer: {name: tok/tokenizer.model}\n"
    )
    with pytest.raises(ConfigError, match="sources.pubmed.inputs: input not found"):
        load_config(config)
    loaded = load_config(config, {"mix.total_tokens": 1000, "slurm.partition": "gpu"}, check_inputs=False)
    assert loaded.mix.total_tokens == 1000 and loaded.slurm.partition == "gpu"
    assert loaded.sources["pubmed"].fetch == {"kind": "all"}
    assert loaded.mix.validation_fraction_per_source == {"pubmed": 0.05}
    assert loaded.tokenizer.name == str(tmp_path / "tok" / "tokenizer.model")  # a file: relative to the config
    assert load_config(config, {"tokenizer.name": "mistral-7b-v0.1"}, False).tokenizer.name == "mistral-7b-v0.1"
    with pytest.raises(ConfigError, match="validation fractions must be in"):
        load_config(config, {"mix.validation_fraction_per_source": {"pubmed": 1.5}}, check_inputs=False)
    with pytest.raises(ConfigError, match="--set output.x: output is not a mapping"):
        load_config(config, {"output.x": 1}, check_inputs=False)
