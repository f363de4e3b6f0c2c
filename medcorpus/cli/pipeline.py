"""Whole runs: `medcorpus run CONFIG` and `medcorpus demo`."""

from __future__ import annotations

from pathlib import Path

import click

from medcorpus.cli.common import WORKERS, fail, parse_settings
from medcorpus.io.atomic import describe_os_error
from medcorpus.run.config import ConfigError


@click.command()
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
@click.option(
    "--set",
    "settings_",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key, dotted, value in YAML (repeatable), e.g. --set tokenizer.name=mistral-7b-v0.1.",
)
def run(
    config: str,
    executor: str,
    workers: int | None,
    resume: bool,
    overwrite: bool,
    output: str | None,
    settings_: tuple[str, ...],
) -> None:
    """Run the whole pipeline from one YAML CONFIG (validated before anything runs).

    Example: medcorpus run examples/demo.yaml --workers 2
    """
    from medcorpus.mixers.plan import InfeasibleMix
    from medcorpus.run.config import load_config
    from medcorpus.run.runner import run as run_config

    try:
        settings = load_config(config, parse_settings(settings_))
        if output:
            settings = settings.model_copy(update={"output": str(Path(output).resolve())})
        run_config(settings, executor, workers, resume, overwrite)
    except (ConfigError, InfeasibleMix) as error:
        fail(str(error))
    except OSError as error:  # disk full, permission denied, read-only output: name the path, no traceback
        fail(describe_os_error(error))
    click.echo(f"run {'submitted' if executor == 'slurm' else 'finished'}: {settings.output}")


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False), default="out/demo", show_default=True)
@WORKERS
def demo(out: str, workers: int) -> None:
    """Run the whole pipeline on the bundled sample inputs and print what it made.

    Example: medcorpus demo --out /tmp/demo --workers 2
    """
    from medcorpus.run.demo import run_demo

    run_demo(Path(out), workers)
