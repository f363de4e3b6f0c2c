"""`medcorpus sft tokenize/show` and a config run with an `sft:` section, from instruction files to masked shards."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from support.chat_tokenizers import CHATML_JINJA, build_chat_tokenizer

from medcorpus.cli.main import main
from medcorpus.run.config import ConfigError, validate
from medcorpus.run.runner import plan_run
from medcorpus.tokenize import SftShardTokenizer, ShardReader, list_shards

RECORDS = [
    {"instruction": "What is the first-line drug for type 2 diabetes?", "output": "Metformin."},
    {"instruction": "Summarise the finding.", "input": "HbA1c fell from 8.1% to 7.2%.", "output": "Better control."},
    {
        "messages": [
            {"role": "user", "content": "How often should the HbA1c be checked?"},
            {"role": "assistant", "content": "Every three months."},
            {"role": "user", "content": "And once it is stable?"},
            {"role": "assistant", "content": "Twice a year."},
        ]
    },
]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def instructions(tmp_path) -> str:
    source = tmp_path / "sft.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in RECORDS))
    result = invoke("sources", "instructions", str(source), "-o", str(tmp_path / "docs"))
    assert result.exit_code == 0, result.output
    return str(tmp_path / "docs")


def test_sft_tokenize_and_show(tmp_path):
    docs = instructions(tmp_path)
    out = tmp_path / "sft"
    result = invoke("sft", "tokenize", docs, "-o", str(out), "--loss", "assistant", "--system", "Be brief.")
    assert result.exit_code == 0, result.output
    prefixes = list_shards(str(out))
    assert prefixes and all(ShardReader(prefix).has_masks for prefix in prefixes)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["chat"] == {"template": "llama-2", "loss": "assistant", "system": "Be brief."}
    assert manifest["config"]["sft"]["max_tokens"] == 4096
    shown = invoke("sft", "show", str(out), "--count", "5")
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("== 00000 #") == 3
    assert "[/INST][[ Metformin. </s>]]" in shown.output
    assert "[/INST][[ Every three months. </s>]]<s>[INST] And once it is stable? [/INST][[ Twice a year. </s>]]" in (
        shown.output
    )
    assert "<<SYS>>\nBe brief.\n<</SYS>>" in shown.output
    assert invoke("sft", "show", prefixes[0] + ".bin", "--count", "1").output.count("== ") == 1
    assert invoke("manifest", "verify", str(out / "manifest.json")).exit_code == 0


def test_sft_tokenize_with_the_tokenizers_own_template(tmp_path):
    docs = instructions(tmp_path)
    tokenizer = build_chat_tokenizer(tmp_path / "tok", chat_template=CHATML_JINJA)
    out = tmp_path / "sft"
    result = invoke("sft", "tokenize", docs, "-o", str(out), "--template", "tokenizer", "--tokenizer", tokenizer)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["chat"]["template_file"] == "tokenizer_config.json"
    assert any(entry["path"].endswith("tokenizer_config.json") for entry in manifest["inputs"])
    shown = invoke("sft", "show", str(out), "--count", "1")  # the manifest names the tokenizer
    assert shown.exit_code == 0, shown.output
    assert "<|im_start|>assistant\n[[" in shown.output and "<|im_end|>]]\n" in shown.output


def test_sft_cli_errors_exit_2(tmp_path):
    docs = instructions(tmp_path)
    result = invoke("sft", "tokenize", docs, "-o", str(tmp_path / "o"), "--template", "chatml")
    assert result.exit_code == 2 and "'chatml' needs <|im_start|>, <|im_end|>" in result.output
    result = invoke("sft", "tokenize", docs, "-o", str(tmp_path / "o"), "--template", "tokenizer")
    assert result.exit_code == 2 and "tokenizer_config.json" in result.output
    result = invoke("sft", "tokenize", docs, "-o", str(tmp_path / "o"), "--max-tokens", "2")
    assert result.exit_code == 2 and "--max-tokens" in result.output
    result = invoke("tokenize", docs, "-o", str(tmp_path / "plain"))
    assert result.exit_code == 0, result.output
    result = invoke("sft", "show", str(tmp_path / "plain"))
    assert result.exit_code == 2 and "has no loss mask" in result.output
    assert "Example:" in invoke("sft", "tokenize", "--help").output


def run_config(tmp_path, sft: dict, tokenizer: str = "mistral-7b-v0.1") -> dict:
    source = tmp_path / "sft.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in RECORDS))
    return {
        "output": str(tmp_path / "run"),
        "sources": {"meadow": {"type": "instructions", "inputs": [str(source)]}},
        "curation": {step: None for step in ("clean", "lang", "dedup", "near_dedup", "deid")},
        "mix": {"ratios": {"biomedical": 1}},
        "tokenizer": {"name": tokenizer},
        "sft": sft,
    }


def test_plan_run_uses_the_sft_stage_and_records_the_template(tmp_path):
    tokenizer = build_chat_tokenizer(tmp_path / "tok", chat_template=CHATML_JINJA)
    stages = plan_run(validate(run_config(tmp_path, {"template": "tokenizer"}, tokenizer)))
    tokenize = next(stage for stage in stages if stage.name == "tokenize")
    assert isinstance(tokenize.pipelines[0][0][-1], SftShardTokenizer)
    writer = stages[-1].pipelines[0][0][0]
    assert str(tmp_path / "tok" / "tokenizer_config.json") in writer.inputs
    assert writer.tokenizer["chat"]["template"] == "tokenizer" and writer.tokenizer["add_bos"] is False
    config = run_config(tmp_path, {"template": "llama-2"}) | {"tokenizer": {"eod_token": "</s>"}}
    with pytest.raises(ConfigError, match="tokenizer.eod_token: not used with sft"):
        plan_run(validate(config))


def test_run_with_a_template_the_tokenizer_cannot_serve_fails_before_any_folder(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run_config(tmp_path, {"template": "chatml"})))
    result = invoke("run", str(config))
    assert result.exit_code == 2 and "error: sft: chat template 'chatml' needs <|im_start|>" in result.output
    assert not (tmp_path / "run").exists()


def test_config_run_writes_masked_mixed_shards(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run_config(tmp_path, {"template": "llama-2", "max_tokens": 64})))
    result = invoke("run", str(config), "--workers", "1")
    assert result.exit_code == 0, result.output
    shards = list_shards(str(tmp_path / "run" / "shards"))
    assert shards and all(ShardReader(prefix).has_masks for prefix in shards)
    shown = invoke("sft", "show", str(tmp_path / "run" / "shards"), "--count", "3")
    assert shown.exit_code == 0 and shown.output.count("[[") == 3, shown.output
    assert "[/INST][[ Twice a year. </s>]]" in shown.output  # answers: only the last answer is trained
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["tokenizer"]["chat"] == {"template": "llama-2", "loss": "answers", "system": None}
    assert invoke("manifest", "verify", str(tmp_path / "run")).exit_code == 0
