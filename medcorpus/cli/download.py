"""`medcorpus sources pubmed download` and `medcorpus sources pmc download`: polite bulk mirrors of NLM's files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from medcorpus.sources.download.ncbi import (
    PMC_KINDS,
    PMC_OA_BULK_ROOT,
    PMC_SUBSETS,
    PUBMED_KINDS,
    PUBMED_ROOT,
    RemoteSource,
    pmc_sources,
    pubmed_sources,
)


def _common(default_url: str, layout: str):
    """The options both download commands share."""

    def decorate(command):
        for option in reversed(
            [
                click.option(
                    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Destination folder."
                ),
                click.option(
                    "--workers",
                    type=click.IntRange(1, 8),
                    default=3,
                    show_default=True,
                    help="Files downloaded at once (NCBI asks for restraint).",
                ),
                click.option(
                    "--retries", type=click.IntRange(0, 20), default=5, show_default=True, help="Retries per file."
                ),
                click.option(
                    "--timeout",
                    type=click.FloatRange(min=1),
                    default=60.0,
                    show_default=True,
                    help="Network timeout, seconds.",
                ),
                click.option(
                    "--max-files", type=click.IntRange(min=1), default=None, help="At most N files per directory."
                ),
                click.option("--dry-run", is_flag=True, help="List what would be fetched; write nothing."),
                click.option(
                    "--base-url",
                    default=default_url,
                    show_default=True,
                    help=f"Root holding {layout} (NLM's, a mirror's, a test server's).",
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _run(sources: list[RemoteSource], output: str, workers, retries, timeout, max_files, dry_run) -> None:
    """Mirror each source into its sub-folder of `output`, print a summary and exit 1 if a file failed."""
    from medcorpus.sources.download.mirror import MirrorError, mirror

    reports = []
    for source in sources:
        try:
            report = mirror(
                source.url,
                Path(output) / source.subfolder,
                source.patterns,
                workers=workers,
                retries=retries,
                timeout=timeout,
                max_files=max_files,
                dry_run=dry_run,
            )
        except MirrorError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        reports.append((source, report))
    files = [(source, result) for source, report in reports for result in report.files]
    if dry_run:
        for source, result in files:
            note = f", {result.reason}" if result.reason else ""
            click.echo(f"{source.subfolder}/{result.name}  ({result.verified} check{note})")
        held = sum(bool(result.reason) for _, result in files)
        click.echo(f"dry run: {len(files)} files selected ({held} already in the ledger); nothing written")
        return
    count = {status: sum(result.status == status for _, result in files) for status in ("downloaded", "skipped")}
    failed = [(source, result) for source, result in files if result.status == "failed"]
    for source, result in failed:
        click.echo(f"failed: {source.subfolder}/{result.name}: {result.reason}", err=True)
    size_only = sum(result.verified == "size-only" for _, result in files)
    fetched = sum(result.fetched for _, result in files)
    click.echo(
        f"downloaded {count['downloaded']}, skipped {count['skipped']} (already verified), failed {len(failed)}; "
        f"{fetched / 1e6:.1f} MB fetched into {output}"
        + (f"; {size_only} checked by size only (no .md5 published)" if size_only else "")
    )
    if failed:
        sys.exit(1)


@click.command("download")
@click.option(
    "--kind", type=click.Choice(list(PUBMED_KINDS)), default="baseline", show_default=True, help="Which files."
)
@_common(PUBMED_ROOT, "baseline/ and updatefiles/")
def pubmed_download(kind: str, base_url: str, output: str, **options) -> None:
    """Mirror PubMed's baseline and/or daily update files, md5-verified, into OUTPUT/{baseline,updatefiles}/.

    Interrupted or repeated runs resume: verified files are never fetched again.

    \b
    Example: medcorpus sources pubmed download -o raw/pubmed --kind all --max-files 2
    """
    _run(pubmed_sources(kind, base_url), output, **options)


@click.command("download")
@click.option(
    "--subset",
    "subsets",
    type=click.Choice(PMC_SUBSETS),
    multiple=True,
    default=("oa_comm",),
    show_default=True,
    help="OA subset (repeatable).",
)
@click.option("--kind", type=click.Choice(list(PMC_KINDS)), default="baseline", show_default=True, help="Packages.")
@_common(PMC_OA_BULK_ROOT, "<subset>/xml/")
def pmc_download(subsets: tuple[str, ...], kind: str, base_url: str, output: str, **options) -> None:
    """Mirror PMC Open Access bulk XML packages and their file lists into OUTPUT/<subset>/.

    Files with a published .md5 are md5-verified; the others only by the size the server announces.

    \b
    Example: medcorpus sources pmc download -o raw/pmc --subset oa_comm --kind incr
    """
    _run(pmc_sources(subsets, kind, base_url), output, **options)
