"""`medcorpus eval ...`: evaluation commands (attached to the main CLI by `medcorpus.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

IN_SAMPLE = (
    "note: the current rule detector was written from the PhysioNet dev notes (lock-box included),\n"
    "so its figures on this corpus are in-sample, not held out; folds matter for what is trained on them."
)


@click.group("eval")
def eval_group() -> None:
    """Evaluate curation stages against gold standards."""


@eval_group.command("deid")
@click.option(
    "--corpus",
    "corpus",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder in PhysioNet deid gold format (id.text, id-phi.phrase).",
)
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='Write predicted spans as JSONL {"patient", "note", "spans": [[start, end, type], ...]}.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=None,
    help="Patient-grouped K-fold: score each fold held out, pooled and per fold (lock-box patients left out).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fold assignment.")
@click.option(
    "--lockbox",
    is_flag=True,
    help="Score only the lock-box patients of the PhysioNet dev corpus: once, at the end of a piece of work.",
)
def deid(corpus: Path, predictions: Path | None, as_json: bool, folds: int | None, seed: int, lockbox: bool) -> None:
    """Token-level recall, precision, F2, recall per PHI type, misses per 100k words and speed of de-identification.

    On the PhysioNet dev corpus the lock-box patients (`curation/deid/lockbox_patients.json`) are left
    out unless `--lockbox` asks for them alone. `--folds K` reports every fold held out and the spread.

    Example: medcorpus eval deid --corpus ../shared/data/deid/physionet_deid_dev --folds 5
    """
    from medcorpus.curation.deid.evaluate import cross_validate, evaluate
    from medcorpus.curation.deid.folds import lockbox_for

    if not (corpus / "id.text").is_file() or not (corpus / "id-phi.phrase").is_file():
        raise click.ClickException(f"{corpus} has no id.text and id-phi.phrase")
    boxed = lockbox_for(corpus)
    if boxed and not as_json:
        click.echo(IN_SAMPLE)
    if lockbox and not boxed:
        raise click.ClickException(f"{corpus} is not the corpus the lock-box was drawn from")
    if lockbox and folds:
        raise click.ClickException("--lockbox scores the lock-box as a whole; it takes no --folds")
    if predictions is not None and folds:
        raise click.ClickException("--predictions writes one run's spans; it takes no --folds")
    if folds:
        result = cross_validate(corpus, folds, seed, exclude=boxed)
        if as_json:
            click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))
            return
        _print(result.pooled.as_dict(), f"out of fold, {folds} folds pooled (seed {seed})")
        for metric in ("recall", "precision"):
            low, high = result.spread(metric)
            click.echo(f"{metric} per fold: {low:.4f} to {high:.4f}")
        return
    spans: dict = {}
    keep = (lambda key: key[0] in boxed) if lockbox else (lambda key: key[0] not in boxed)
    result = evaluate(corpus, keep=keep, predictions=spans)
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        with predictions.open("w", encoding="utf-8") as handle:
            for (patient, note), found in sorted(spans.items()):
                record = {"patient": patient, "note": note, "spans": [[s, e, t] for s, e, t in found]}
                handle.write(json.dumps(record) + "\n")
    metrics = result.as_dict()
    if as_json:
        click.echo(json.dumps(metrics, indent=2, sort_keys=True))
        return
    which = "lock-box patients only" if lockbox else ("lock-box patients left out" if boxed else "all notes")
    _print(metrics, which)


def _print(metrics: dict, which: str) -> None:
    click.echo(f"{which}: notes {metrics['notes']}  words {metrics['words']}  gold PHI tokens {metrics['gold_tokens']}")
    click.echo(f"recall    {metrics['recall']:.4f}")
    click.echo(f"precision {metrics['precision']:.4f}")
    click.echo(f"F2        {metrics['f2']:.4f}")
    click.echo(f"misses per 100,000 words {metrics['misses_per_100k_words']:.1f}")
    click.echo(f"speed     {metrics['notes_per_second']:.1f} notes/s, {metrics['mb_per_second']:.3f} MB/s (one core)")
    click.echo("recall by type:")
    for phi_type, value in metrics["recall_by_type"].items():
        click.echo(f"  {phi_type:<20} {value:.4f}  ({metrics['gold_tokens_by_type'][phi_type]} tokens)")
