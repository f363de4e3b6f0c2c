"""`medcorpus fetch CONFIG`: the downloads and crawls a recipe's sources need, resumable, with one summary."""

from __future__ import annotations

import sys

import click

from medcorpus.cli.common import fail, parse_settings
from medcorpus.run.config import ConfigError


def _urls(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    from medcorpus.run.fetch import check_urls

    urls = {}
    for item in values:
        key, sep, url = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not TYPE=URL")
        urls[key.strip()] = url.strip()
    try:
        return check_urls(urls)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("fetch")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="List what would be fetched (remote listings only); write nothing.")
@click.option("--only", multiple=True, metavar="SOURCE", help="Fetch only this source (repeatable).")
@click.option(
    "--set",
    "settings_",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one config key, dotted, value in YAML (repeatable), e.g. --set sources.replay.fetch.max_files=2.",
)
@click.option(
    "--base-url-override",
    "urls",
    multiple=True,
    metavar="TYPE=URL",
    callback=_urls,
    help="Fetch TYPE (pubmed, pmc, general: the Hub endpoint, guidelines or guidelines.SITE) from a mirror or "
    "test server (repeatable).",
)
def fetch(config: str, dry_run: bool, only: tuple[str, ...], settings_: tuple[str, ...], urls: dict) -> None:
    """Fetch what CONFIG's sources read, as each source's `fetch:` spec says, into its first input folder.

    PubMed and PMC from NLM's bulk folders, replay sets from the Hugging Face Hub, guideline publishers
    crawled; a rerun fetches nothing already held. MIMIC is credentialed: fetch says where to place it and
    never downloads it. Exit 1 when a download failed, 2 for a bad config or fetch: spec.

    \b
    Example: medcorpus fetch examples/me_llama.yaml --only pubmed --set sources.pubmed.fetch.kind=baseline
    """
    from medcorpus.run.config import load_config
    from medcorpus.run.fetch import plan
    from medcorpus.run.fetching import execute, summary

    try:
        plans = plan(load_config(config, parse_settings(settings_), check_inputs=False), list(only), urls)
    except ConfigError as error:
        fail(str(error))
    outcomes = execute(plans, dry_run, lambda line: click.echo(line, err=True))
    for row in outcomes:
        for line in row.notes:
            click.echo(line)
        for failure in row.failures:
            click.echo(f"failed: {row.name}: {failure}", err=True)
    lines, failed = summary(outcomes, dry_run)
    click.echo("\n".join(lines))
    if failed:
        sys.exit(1)
