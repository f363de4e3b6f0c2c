"""What a run leaves behind: `medcorpus manifest verify` and `medcorpus report`."""

from __future__ import annotations

import sys

import click


@click.group()
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


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="HTML file [RUN_DIR/report.html].")
def report(run_dir: str, output: str | None) -> None:
    """Write a self-contained HTML report of a run (counts, funnel, mix, lengths, PHI, decontamination, timing).

    Example: medcorpus report out/demo/run -o report.html
    """
    from medcorpus.report.html import write_report

    click.echo(f"report: {write_report(run_dir, output)}")
