"""`medcorpus sources pubmed|pmc|general download`: polite, resumable, checksummed bulk downloads
(NLM's bulk folders; replay sets from the Hugging Face Hub)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
from medcorpus.sources.download.replay_sets import PRESETS, selection

if TYPE_CHECKING:
    from medcorpus.sources.download.mirror import FileResult


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

    files = []
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
        files += [(f"{source.subfolder}/{result.name}", result) for result in report.files]
    _summarise(files, output, dry_run, "no .md5 published")


def _summarise(
    files: list[tuple[str, FileResult]], output: str, dry_run: bool, unpublished: str, tail: str = ""
) -> None:
    """Print the files of a dry run, or the failures and one summary line; exit 1 if a file failed."""
    if dry_run:
        for path, result in files:
            note = f", {result.reason}" if result.reason else ""
            click.echo(f"{path}  ({result.verified} check{note})")
        held = sum(bool(result.reason) for _, result in files)
        click.echo(f"dry run: {len(files)} files selected ({held} already in the ledger){tail}; nothing written")
        return
    count = {status: sum(result.status == status for _, result in files) for status in ("downloaded", "skipped")}
    failed = [(path, result) for path, result in files if result.status == "failed"]
    for path, result in failed:
        click.echo(f"failed: {path}: {result.reason}", err=True)
    size_only = sum(result.verified == "size-only" for _, result in files)
    fetched = sum(result.fetched for _, result in files)
    click.echo(
        f"downloaded {count['downloaded']}, skipped {count['skipped']} (already verified), failed {len(failed)}; "
        f"{fetched / 1e6:.1f} MB fetched into {output}"
        + (f"; {size_only} checked by size only ({unpublished})" if size_only else "")
        + tail
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


@click.command("download")
@click.option("--preset", type=click.Choice(list(PRESETS)), help="A known replay set (see docs/sources.md).")
@click.option("--repo", help="Any Hub dataset, OWNER/NAME (with --include).")
@click.option("--include", "patterns", multiple=True, help="Glob of repository paths (repeatable; `*` crosses /).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Destination folder.")
@click.option("--revision", help="Branch, tag or commit  [default: the preset's, else main]")
@click.option("--text-key", help="Text field, for the token estimate  [default: the preset's, else text]")
@click.option("--max-files", type=click.IntRange(min=1), default=None, help="At most the first N files (sorted).")
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Stop once the files hold about N tokens (UTF-8 bytes of text / 4; files fetched one at a time).",
)
@click.option("--endpoint", help="Hub URL  [default: $HF_ENDPOINT, else https://huggingface.co]")
@click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True, help="Files downloaded at once.")
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True, help="Retries per file.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Network timeout, s.")
@click.option("--dry-run", is_flag=True, help="List what would be fetched; write nothing.")
def general_download(preset, repo, patterns, output, revision, text_key, max_tokens, dry_run, **options) -> None:
    """Download general-domain replay data files (Parquet, JSONL) from the Hugging Face Hub into OUTPUT.

    Paths in the repository are kept below OUTPUT; files are sha256-checked against the Hub's LFS
    digest (size only for plain git files), resumed when interrupted and never fetched twice.
    `$HF_TOKEN`, when set, is sent for gated or private sets.

    \b
    Example: medcorpus sources general download --preset fineweb-edu-sample-10bt -o raw/fw --max-tokens 200000000
    Example: medcorpus sources general download --repo OWNER/NAME --include 'data/*.parquet' -o raw/set
    """
    from medcorpus.sources.download.hub import BYTES_PER_TOKEN, download
    from medcorpus.sources.download.mirror import MirrorError

    if bool(preset) == bool(repo):
        raise click.UsageError("give one of --preset NAME or --repo OWNER/NAME")
    if repo and not patterns:
        raise click.UsageError("--repo needs --include GLOB (e.g. 'data/*.parquet')")
    chosen = selection(preset, repo, patterns, revision, text_key)
    try:
        report = download(
            chosen.repo,
            output,
            chosen.include,
            revision=chosen.revision,
            text_key=chosen.text_key,
            max_tokens=max_tokens,
            dry_run=dry_run,
            **options,
        )
    except (MirrorError, ValueError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    tail = ""
    if max_tokens and dry_run:
        tail = "; --max-tokens is applied while downloading"
    elif max_tokens:
        reached = "reached" if report.budget_reached else "not reached"
        tail = f"; about {report.tokens:,} tokens (UTF-8 bytes / {BYTES_PER_TOKEN}), budget {max_tokens:,} {reached}"
    _summarise([(r.name, r) for r in report.files], output, dry_run, "no sha256 published", tail)
