"""`medcorpus sources SOURCE ...`: parse a source's raw files, or fetch them (download, crawl)."""

from __future__ import annotations

import importlib

import click

from medcorpus.cli.common import FORMAT, OPTIONS, OUTPUT, WORKERS, fail, parse_settings, run_single
from medcorpus.paths import InputError
from medcorpus.run.config import ConfigError, SourceConfig
from medcorpus.run.context import StageContext
from medcorpus.sources import READERS


class SourceGroup(click.Group):
    """A source's commands; arguments that name none of them go to `parse`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["parse", *args]
        return super().parse_args(ctx, args)


@click.group()
def sources() -> None:
    """Parse raw files of one source into documents, or download them (pubmed, pmc, general).

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
            stage = source_stage({source_type: source}, StageContext(output, fmt, workers))
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
    "general": ("medcorpus.cli.download", "general_download", "download replay sets from the Hugging Face Hub"),
    "guidelines": ("medcorpus.cli.crawl", "guidelines_crawl", "crawl a publisher's site"),
}
for _name in READERS:
    sources.add_command(source_group(_name))
