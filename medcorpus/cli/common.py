"""What the command modules share: common options, `--set KEY=VALUE` parsing, error exits, one-stage runs."""

from __future__ import annotations

import sys
import time

import click
import yaml

from medcorpus.io.atomic import describe_os_error

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
