"""The `medcorpus` root command; each command group lives in its own module of this package."""

from __future__ import annotations

import click

from medcorpus.cli.evaluate import eval_group
from medcorpus.cli.fetch import fetch
from medcorpus.cli.pipeline import demo, run
from medcorpus.cli.plan import plan
from medcorpus.cli.provenance import manifest, report
from medcorpus.cli.sft import sft
from medcorpus.cli.sources import sources
from medcorpus.cli.stages import curate, mix, tokenize
from medcorpus.cli.train import train_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="medcorpus")
def main() -> None:
    """Build medical continued-pretraining corpora: sources -> curation -> token-ratio mix -> Megatron shards.

    Example: medcorpus demo --out /tmp/medcorpus-demo
    """


COMMANDS = (sources, fetch, curate, tokenize, sft, mix, plan, run, demo, train_command, manifest, report, eval_group)
for _command in COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":
    main()
