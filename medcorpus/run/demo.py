"""`medcorpus demo`: the whole pipeline on the bundled sample inputs, with a readable summary."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click
import numpy as np

from medcorpus.run.config import validate
from medcorpus.run.runner import run

SAMPLES = Path(__file__).parents[1] / "sample_inputs"


def demo_config(out: Path, workers: int) -> dict:
    """The demo's run config; the sample guideline PDF is generated into `out/inputs`."""
    from medcorpus.sample_inputs.guidelines.make_pdf import write_sample_pdf

    pdf = write_sample_pdf(out / "inputs" / "sample_guideline.pdf")
    return {
        "output": str(out / "run"),
        "seed": 1234,
        "workers": workers,
        "sources": {
            # every language is kept here so that the language stage, not the reader, shows its work
            "pubmed": {"type": "pubmed", "inputs": [str(SAMPLES / "pubmed")], "options": {"languages": []}},
            "pmc": {"type": "pmc", "inputs": [str(SAMPLES / "pmc")]},
            "guidelines": {
                "type": "guidelines",
                "inputs": [str(SAMPLES / "guidelines" / "sample_guideline.html"), str(pdf)],
                "options": {"site": "demo", "license": "CC-BY-4.0"},
            },
            "mimic": {"type": "mimic", "inputs": [str(SAMPLES / "mimic")]},
            "general": {"type": "general", "inputs": [str(SAMPLES / "general")], "options": {"name": "redpajama"}},
        },
        "curation": {
            "clean": {},
            "lang": {},
            "quality": {},  # the shipped per-source profiles, measured on the real samples (see README)
            "dedup": {},
            "deid": {},
            "decontam": {"benchmarks": [str(SAMPLES / "benchmarks")]},
        },
        "mix": {"ratios": {"biomedical": 15, "clinical": 1, "general": 4}},
        "tokenizer": {"name": "mistral-7b-v0.1"},
    }


def sft_demo_config(out: Path, workers: int) -> dict:
    """The instruction-tuning part of the demo: the sample instruction sets into SFT shards with loss masks."""
    sets = SAMPLES / "instructions"
    names = {
        "flashcards": "meadow_flashcards.json",
        "wikidoc": "meadow_wikidoc.jsonl",
        "medqa": "meadow_medqa.jsonl",
        "patients": "sharegpt_patient_questions.jsonl",
    }
    sources = {name: {"type": "instructions", "inputs": [str(sets / file)]} for name, file in names.items()}
    sources["notes"] = {
        "type": "instructions",
        "inputs": [str(sets / "clinical_summaries.jsonl")],
        "options": {"category": "clinical", "restricted": True},  # built on (invented) clinical notes
    }
    priority = ["medqa", "flashcards", "wikidoc", "patients", "notes"]
    return {
        "output": str(out / "sft"),
        "seed": 1234,
        "workers": workers,
        "sources": sources,
        "curation": {
            "clean": {},
            "lang": {},
            "dedup": {"fields": ["text", "prompt"], "priority": priority},
            "near_dedup": {"field": "prompt", "priority": priority},
            "deid": {},
            "decontam": {"benchmarks": [str(SAMPLES / "benchmarks")]},
        },
        "mix": {"ratios": {"biomedical": 9, "clinical": 1}},
        "tokenizer": {"name": "mistral-7b-v0.1"},
        "sft": {"template": "llama-2", "loss": "answers", "max_tokens": 1024},
    }


def summary_table(manifest: dict) -> str:
    """Documents and tokens per source and category, and target vs achieved shares."""
    mix = manifest["mix"]
    lines = [
        f"{'source':<12}{'category':<12}{'docs in':>9}{'tokens in':>11}{'docs mixed':>12}"
        f"{'tokens mixed':>14}{'epochs':>8}"
    ]
    for name, row in sorted(mix["sources"].items()):
        lines.append(
            f"{name:<12}{row['category']:<12}{row['available_documents']:>9}{row['available_tokens']:>11}"
            f"{row['selected_documents']:>12}{row['achieved_tokens']:>14}{row['epochs']:>8.2f}"
        )
    lines.append("")
    lines.append(f"{'category':<12}{'target share':>14}{'achieved share':>16}{'target tokens':>15}{'achieved':>10}")
    for name, row in sorted(mix["categories"].items()):
        lines.append(
            f"{name:<12}{row['target_share']:>14.4f}{row['achieved_share']:>16.4f}"
            f"{row['target_tokens']:>15}{row['achieved_tokens']:>10}"
        )
    removed = {}
    for stage in manifest["stages"]:
        for reasons in stage.get("removed", {}).values():
            for reason, count in reasons.items():
                removed[f"{stage['name']}:{reason}"] = removed.get(f"{stage['name']}:{reason}", 0) + count
    if removed:
        lines.append("")
        lines.append("removed: " + ", ".join(f"{key} {value}" for key, value in sorted(removed.items())))
    return "\n".join(lines)


def public_window(shards: Path, seq_len: int, seed: int) -> np.ndarray | None:
    """The first training window, in the loader's order, holding no clinical text (safe to print)."""
    from medcorpus.train import PackedWindows

    windows = PackedWindows([str(shards)], seq_len=seq_len, seed=seed)
    categories = [category for reader in windows.shards for category in reader.categories]
    ends = np.cumsum(np.concatenate([reader.lengths for reader in windows.shards]))
    for index in windows.order(0):
        start = int(index) * seq_len
        first, last = np.searchsorted(ends, [start, start + seq_len], side="right")
        if all(category != "clinical" for category in categories[first : last + 1]):
            return windows.window(int(index))
    return None


def run_demo(out: Path, workers: int = 1) -> dict:
    """Run the demo into `out` (replaced), print the summary and one decoded window; return the manifest."""

    started = time.time()
    if out.exists():
        shutil.rmtree(out)
    config = validate(demo_config(out, workers))
    run(config)
    manifest_path = Path(config.output) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    click.echo("")
    click.echo(summary_table(manifest))
    click.echo("")
    click.echo(f"shards:   {Path(config.output) / 'shards'}")
    click.echo(f"manifest: {manifest_path}  (check it with: medcorpus manifest verify {manifest_path})")
    tokenizer = config.tokenizer.load()
    window = public_window(Path(config.output) / "shards", 128, config.seed)
    if window is not None:
        click.echo("\none training window (128 tokens + 1), decoded:\n" + "-" * 60)
        click.echo(tokenizer.decode(window.tolist()))
        click.echo("-" * 60)
    run_sft_demo(out, workers)
    click.echo(f"demo finished in {time.time() - started:.1f}s")
    return manifest


def run_sft_demo(out: Path, workers: int) -> dict:
    """The instruction-tuning demo into `out/sft`: summary, and one public example with its trained span marked."""
    from medcorpus.tokenize import ShardReader, list_shards
    from medcorpus.tokenize.chat import marked_text

    config = validate(sft_demo_config(out, workers))
    run(config)
    manifest = json.loads((Path(config.output) / "manifest.json").read_text())
    click.echo("\ninstruction tuning (SFT shards with loss masks):\n" + summary_table(manifest))
    shards = Path(config.output) / "shards"
    click.echo(f"shards:   {shards}  (see them with: medcorpus sft show {shards})")
    tokenizer = config.tokenizer.load()
    shard = ShardReader(list_shards(str(shards))[0])
    public = next(i for i, category in enumerate(shard.categories) if category != "clinical")
    click.echo("\none example, the trained tokens between [[ and ]]:\n" + "-" * 60)
    click.echo(marked_text(tokenizer, shard.tokens(public), shard.mask(public)))
    click.echo("-" * 60)
    return manifest
