"""The medcorpus command line: one command per stage, whole runs from a config, the demo, manifests."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import click
import yaml

from medcorpus.io.atomic import describe_os_error
from medcorpus.paths import InputError
from medcorpus.run.config import STEP_ORDER, ConfigError, CurationConfig, SourceConfig, TokenizerConfig
from medcorpus.sources import READERS

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="Intermediate format: Parquet (zstd) or JSONL.gz.",
)
WORKERS = click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Tasks run in parallel."
)
OUTPUT = click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder (created)."
)
OPTIONS = click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A step option, value in YAML (repeatable), e.g. --set min_abstract_chars=300.",
)


def parse_settings(settings: tuple[str, ...]) -> dict:
    """KEY=VALUE pairs with YAML values, as a dict."""
    parsed = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def fail(message: str) -> None:
    """Print a configuration or input error and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def run_single(stage, inputs: list[str], config: dict, seed: int, tokenizer: dict | None, workers: int) -> None:
    """Run one stage and write its manifest beside its outputs."""
    from medcorpus.run.executors import run_stages
    from medcorpus.run.runner import manifest_stage

    manifest = manifest_stage(stage.output, [stage], config, seed, inputs, tokenizer, time.time())
    try:
        run_stages([stage, manifest], "local", workers)
    except OSError as error:  # disk full, permission denied, read-only output: name the path, no traceback
        fail(describe_os_error(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="medcorpus")
def main() -> None:
    """Build medical continued-pretraining corpora: sources -> curation -> token-ratio mix -> Megatron shards.

    Example: medcorpus demo --out /tmp/medcorpus-demo
    """


class SourceGroup(click.Group):
    """A source's commands; arguments that name none of them go to `parse`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["parse", *args]
        return super().parse_args(ctx, args)


@main.group()
def sources() -> None:
    """Parse raw files of one source into documents, or download them (pubmed, pmc).

    Example: medcorpus sources pubmed pubmed24n0001.xml.gz -o out/pubmed
    """


def parse_command(source_type: str) -> click.Command:
    """`medcorpus sources SOURCE_TYPE [parse] INPUTS... -o OUT`."""

    @click.command("parse")
    @click.argument("inputs", nargs=-1, required=True)
    @OUTPUT
    @FORMAT
    @WORKERS
    @OPTIONS
    def parse(inputs: tuple[str, ...], output: str, fmt: str, workers: int, settings) -> None:
        from medcorpus.run.config import check_reader_options
        from medcorpus.run.stages import source_stage

        try:
            source = SourceConfig(type=source_type, inputs=list(inputs), options=parse_settings(settings))
            check_reader_options(source_type, source)
            stage = source_stage({source_type: source}, output, fmt, workers, None)
        except (ConfigError, InputError, ValueError, TypeError) as error:
            fail(str(error))
        files = sorted({f for steps, _ in stage.pipelines for f in getattr(steps[0], "files", [])})
        run_single(stage, files, source.model_dump(), 0, None, workers)
        click.echo(f"documents written to {output}")

    parse.help = (
        f"Parse raw {source_type} files (paths, folders, globs, fsspec URLs) into documents.\n\n"
        f"Example: medcorpus sources {source_type} INPUT... -o out/{source_type} --set KEY=VALUE"
    )
    return parse


def source_group(source_type: str) -> click.Group:
    fetch = FETCHERS.get(source_type)
    command = getattr(importlib.import_module(fetch[0]), fetch[1]) if fetch else None
    group = SourceGroup(
        source_type,
        short_help=f"Parse {source_type} files" + (f", or {fetch[2]}." if fetch else "."),
        help=f"`medcorpus sources {source_type} INPUT... -o OUT` parses {source_type} files (the `parse` command)"
        + (f"; `medcorpus sources {source_type} {command.name} ...` to {fetch[2]}." if command else "."),
    )
    group.add_command(parse_command(source_type))
    if command:
        group.add_command(command)
    return group


# source -> (module, click command, what it does): the commands that fetch a source's raw files
FETCHERS = {
    "pubmed": ("medcorpus.cli.download", "pubmed_download", "download NLM's bulk files"),
    "pmc": ("medcorpus.cli.download", "pmc_download", "download NLM's bulk files"),
    "guidelines": ("medcorpus.cli.crawl", "guidelines_crawl", "crawl a publisher's site"),
}
for _name in READERS:
    sources.add_command(source_group(_name))


@main.command()
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
        stage = curation_stage(step, curation_params(curation, step), list(inputs), output, fmt, workers, seed, None)
    except (ConfigError, InputError, FileNotFoundError, ValueError) as error:
        fail(str(error))
    run_single(stage, [], {step: curation_params(curation, step)}, seed, None, workers)
    click.echo(f"documents written to {output}")


@main.command()
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
        stage = tokenize_stage(list(inputs), output, detect_format(inputs[0]), workers, settings)
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    run_single(stage, [loaded.path], settings.model_dump(), 0, loaded.identity(), workers)
    click.echo(f"shards written to {output}")


@main.command()
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
        stage = mix_stage(
            folders, output, settings.model_dump(), int(raw.get("seed", 1234)), int(raw.get("vocab_size", 32000))
        )
        run_single(stage, [], raw, int(raw.get("seed", 1234)), None, 1)
    except (ConfigError, ValueError, yaml.YAMLError) as error:
        fail(str(error))
    click.echo(f"mixed shards written to {output}")


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--executor", type=click.Choice(["local", "ray", "slurm"]), default="local", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Override the config's workers.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a run in a non-empty output: finished tasks are skipped, interrupted ones re-run from scratch; "
    "refused when its inputs changed.",
)
@click.option("--overwrite", is_flag=True, help="Delete a non-empty output first.")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None, help="Override the config's output.")
def run(config: str, executor: str, workers: int | None, resume: bool, overwrite: bool, output: str | None) -> None:
    """Run the whole pipeline from one YAML CONFIG (validated before anything runs).

    Example: medcorpus run examples/demo.yaml --workers 2
    """
    from medcorpus.run.config import load_config
    from medcorpus.run.runner import run as run_config

    try:
        settings = load_config(config)
        if output:
            settings = settings.model_copy(update={"output": str(Path(output).resolve())})
        run_config(settings, executor, workers, resume, overwrite)
    except ConfigError as error:
        fail(str(error))
    except OSError as error:  # disk full, permission denied, read-only output: name the path, no traceback
        fail(describe_os_error(error))
    click.echo(f"run {'submitted' if executor == 'slurm' else 'finished'}: {settings.output}")


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False), default="out/demo", show_default=True)
@WORKERS
def demo(out: str, workers: int) -> None:
    """Run the whole pipeline on the bundled sample inputs and print what it made.

    Example: medcorpus demo --out /tmp/demo --workers 2
    """
    from medcorpus.run.demo import run_demo

    run_demo(Path(out), workers)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train(args: tuple[str, ...]) -> None:
    """Continued pretraining on shards with FSDP2 (run under torchrun; needs the train extra).

    Example: torchrun --nproc-per-node 8 $(which medcorpus) train --shards out/shards --model ./llama --out ckpt
    """
    from medcorpus.cli.train import main as train_main

    train_main(list(args))


@main.group()
def manifest() -> None:
    """Check a run's manifest."""


@manifest.command()
@click.argument("manifest_path", metavar="MANIFEST|RUN_DIR", type=click.Path(exists=True))
def verify(manifest_path: str) -> None:
    """Re-hash a run's recorded inputs and every output its manifest lists; exit 1 on any change or missing file.

    Changed, missing inputs are reported first (before `run --resume` would mix old and new data).
    A run folder without a manifest yet (unfinished) has its inputs checked.

    Example: medcorpus manifest verify out/demo/manifest.json
    """
    from medcorpus.run.manifest import verify as verify_manifest

    problems = verify_manifest(manifest_path)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"ok: the inputs and every output listed in {manifest_path} match")


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="HTML file [RUN_DIR/report.html].")
def report(run_dir: str, output: str | None) -> None:
    """Write a self-contained HTML report of a run (counts, funnel, mix, lengths, PHI, decontamination, timing).

    Example: medcorpus report out/demo/run -o report.html
    """
    from medcorpus.report.html import write_report

    click.echo(f"report: {write_report(run_dir, output)}")


def _add_eval() -> None:
    from medcorpus.cli.evaluate import eval_group

    main.add_command(eval_group)


_add_eval()

if __name__ == "__main__":
    main()
