"""`medcorpus eval ...`: evaluation commands (attached to the main CLI by `medcorpus.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

IN_SAMPLE = (
    "note: the rule detectors were written from the PhysioNet dev notes (lock-box included) and the shipped\n"
    "classifier is trained on them (lock-box excluded): without --folds these figures are in-sample. With\n"
    "--folds the classifier is retrained for each fold on the other folds only; the rules stay in-sample."
)
LOCKBOX_NOTE = (
    "note: the shipped classifier never saw the lock-box notes; the rule detectors were written from every\n"
    "dev note, lock-box included, so for them these notes are not unseen."
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
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="The classifier's P(PHI) cut (the config's deid.threshold).",
)
@click.option("--rules-only", is_flag=True, help="Score the rule detectors without the learned classifier.")
@click.option(
    "--curve",
    is_flag=True,
    help="With --folds: the out-of-fold recall/precision trade-off over thresholds 0.1 to 0.9.",
)
def deid(
    corpus: Path,
    predictions: Path | None,
    as_json: bool,
    folds: int | None,
    seed: int,
    lockbox: bool,
    threshold: float,
    rules_only: bool,
    curve: bool,
) -> None:
    """Token-level recall, precision, F2, recall per PHI type, misses per 100k words and speed of de-identification.

    On the PhysioNet dev corpus the lock-box patients (`curation/deid/lockbox_patients.json`) are left
    out unless `--lockbox` asks for them alone. `--folds K` reports every fold held out and the spread.

    With `--folds` the classifier is retrained on each fold's training folds; without, the shipped one runs.

    Example: medcorpus eval deid --corpus ../shared/data/deid/physionet_deid_dev --folds 5
    """
    from medcorpus.curation.deid.evaluate import cross_validate, evaluate, finder, fixed
    from medcorpus.curation.deid.folds import lockbox_for
    from medcorpus.curation.deid.learned.train import builder, trade_off

    if not (corpus / "id.text").is_file() or not (corpus / "id-phi.phrase").is_file():
        raise click.ClickException(f"{corpus} has no id.text and id-phi.phrase")
    boxed = lockbox_for(corpus)
    if boxed and not as_json:
        click.echo(LOCKBOX_NOTE if lockbox else IN_SAMPLE)
    if lockbox and not boxed:
        raise click.ClickException(f"{corpus} is not the corpus the lock-box was drawn from")
    if lockbox and folds:
        raise click.ClickException("--lockbox scores the lock-box as a whole; it takes no --folds")
    if predictions is not None and folds:
        raise click.ClickException("--predictions writes one run's spans; it takes no --folds")
    if curve and (not folds or rules_only):
        raise click.ClickException("--curve needs --folds and the classifier (no --rules-only)")
    if curve:
        _curve(trade_off(corpus, folds, seed, [round(0.1 * i, 1) for i in range(1, 10)]), as_json)
        return
    if folds:
        if rules_only:
            rules = finder(learned=False)
            build = fixed(lambda _key, text: rules(text))
        else:
            build = builder(threshold)
        result = cross_validate(corpus, folds, seed, build=build, exclude=boxed)
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
    result = evaluate(corpus, finder(not rules_only, threshold), keep=keep, predictions=spans)
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


def _curve(points: list, as_json: bool) -> None:
    rows = [
        {"threshold": t, **{m: round(getattr(r.pooled, m), 4) for m in ("recall", "precision", "f2")}}
        for t, r in points
    ]
    for row, (_t, result) in zip(rows, points):
        row["recall_by_type"] = {k: round(v, 4) for k, v in result.pooled.recall_by_type.items()}
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    click.echo("out of fold, classifier retrained per fold, with the rules:")
    click.echo("threshold  recall  precision  F2      lowest type recall")
    for row in rows:
        low = min(row["recall_by_type"].items(), key=lambda kv: kv[1])
        click.echo(
            f"{row['threshold']:<9}  {row['recall']:.4f}  {row['precision']:.4f}     {row['f2']:.4f}"
            f"  {low[0]} {low[1]:.4f}"
        )


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
