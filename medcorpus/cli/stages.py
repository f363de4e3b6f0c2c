"""One command per stage after the sources: `medcorpus curate STEP`, `medcorpus tokenize`, `medcorpus mix`."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from medcorpus.cli.common import OPTIONS, OUTPUT, WORKERS, fail, parse_settings, run_single
from medcorpus.paths import InputError
from medcorpus.run.config import STEP_ORDER, ConfigError, CurationConfig, TokenizerConfig
from medcorpus.run.context import StageContext


@click.command()
@click.argument("step", type=click.Choice(list(STEP_ORDER)))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@OUTPUT
@WORKERS
@OPTIONS
@click.option("--seed", type=int, default=1234, show_default=True, help="Seed (language detection).")
def curate(step: str, inputs: tuple[str, ...], output: str, workers: int, settings, seed: int) -> None:
    """Run one curation STEP over document folders written by another stage.

    Example: medcorpus curate lang out/pubmed -o out/pubmed-en --set 'languages=[en, fr]'
    """
    from medcorpus.io.formats import detect_format
    from medcorpus.run.stages import curation_params, curation_stage

    try:
        curation = CurationConfig.model_validate({step: parse_settings(settings)})
        fmt = detect_format(inputs[0])
        params = curation_params(curation, step)
        stage = curation_stage(step, params, list(inputs), StageContext(output, fmt, workers), seed)
    except (ConfigError, InputError, FileNotFoundError, ValueError) as error:
        fail(str(error))
    run_single(stage, [], {step: curation_params(curation, step)}, seed, None, workers)
    click.echo(f"documents written to {output}")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--tokenizer",
    default="mistral-7b-v0.1",
    show_default=True,
    help="A named tokenizer, a SentencePiece .model or a Hugging Face tokenizer.json.",
)
@click.option("--bos/--no-bos", default=True, show_default=True, help="Start each document with BOS.")
@click.option("--eos/--no-eos", default=True, show_default=True, help="End each document with EOS (or --eod-*).")
@click.option("--eod-id", type=click.IntRange(min=0), default=None, help="End-of-document id used instead of EOS.")
@click.option("--eod-token", default=None, help="End-of-document token (looked up) used instead of EOS.")
@OUTPUT
@WORKERS
def tokenize(
    inputs: tuple[str, ...],
    tokenizer: str,
    bos: bool,
    eos: bool,
    eod_id: int | None,
    eod_token: str | None,
    output: str,
    workers: int,
) -> None:
    """Tokenize document folders into Megatron .bin/.idx shards with per-document provenance.

    Example: medcorpus tokenize out/curated --tokenizer mistral-7b-v0.1 -o out/tokens
    """
    from medcorpus.io.formats import detect_format
    from medcorpus.run.stages import tokenize_stage

    try:
        settings = TokenizerConfig(name=tokenizer, add_bos=bos, add_eos=eos, eod_id=eod_id, eod_token=eod_token)
        loaded = settings.load()
        stage = tokenize_stage(list(inputs), StageContext(output, detect_format(inputs[0]), workers), settings)
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    run_single(stage, [loaded.path], settings.model_dump(), 0, loaded.identity(), workers)
    click.echo(f"shards written to {output}")


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@OUTPUT
def mix(config: str, output: str) -> None:
    """Mix tokenized shard folders by token ratios, from a YAML CONFIG.

    CONFIG holds `inputs` (folders written by `medcorpus tokenize`, relative to CONFIG),
    `seed`, `vocab_size` (default 32000) and the `mix` section of a run config.

    Example: medcorpus mix mix.yaml -o out/shards, with mix.yaml:

    \b
      inputs: [out/tokens]
      seed: 1234
      mix: {ratios: {biomedical: 15, clinical: 1, general: 4}, total_tokens: 10000000}
    """
    from medcorpus.mixers.token_mixer import check_feasible
    from medcorpus.run.config import MixConfig
    from medcorpus.run.stages import mix_stage

    try:
        raw = yaml.safe_load(Path(config).read_text()) or {}
        base = Path(config).resolve().parent
        folders = [str(base / folder) for folder in raw.get("inputs") or []]
        if not folders:
            raise ConfigError("inputs: give at least one folder of tokenized shards")
        missing = [folder for folder in folders if not Path(folder).is_dir()]
        if missing:
            raise ConfigError(f"inputs: folder not found: {missing[0]}")
        settings = MixConfig.model_validate(raw.get("mix") or {})
        check_feasible(folders, settings.model_dump())  # one-line error before any executor starts
        stage = mix_stage(
            folders, output, settings.model_dump(), int(raw.get("seed", 1234)), int(raw.get("vocab_size", 32000))
        )
        run_single(stage, [], raw, int(raw.get("seed", 1234)), None, 1)
    except (ConfigError, ValueError, yaml.YAMLError) as error:
        fail(str(error))
    click.echo(f"mixed shards written to {output}")
