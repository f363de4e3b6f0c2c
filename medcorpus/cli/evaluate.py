"""`medcorpus eval ...`: evaluation commands (attached to the main CLI by `medcorpus.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path

import click


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
def deid(corpus: Path, predictions: Path | None, as_json: bool) -> None:
    """Token-level recall, precision, F2, recall per PHI type, misses per 100k words and speed of de-identification.

    Example: medcorpus eval deid --corpus ../shared/data/deid/physionet_deid_dev
    """
    from medcorpus.curation.deid.evaluate import evaluate

    if not (corpus / "id.text").is_file() or not (corpus / "id-phi.phrase").is_file():
        raise click.ClickException(f"{corpus} has no id.text and id-phi.phrase")
    spans: dict = {}
    result = evaluate(corpus, predictions=spans)
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
    click.echo(f"notes {metrics['notes']}  words {metrics['words']}  gold PHI tokens {metrics['gold_tokens']}")
    click.echo(f"recall    {metrics['recall']:.4f}")
    click.echo(f"precision {metrics['precision']:.4f}")
    click.echo(f"F2        {metrics['f2']:.4f}")
    click.echo(f"misses per 100,000 words {metrics['misses_per_100k_words']:.1f}")
    click.echo(f"speed     {metrics['notes_per_second']:.1f} notes/s, {metrics['mb_per_second']:.3f} MB/s (one core)")
    click.echo("recall by type:")
    for phi_type, value in metrics["recall_by_type"].items():
        click.echo(f"  {phi_type:<20} {value:.4f}  ({metrics['gold_tokens_by_type'][phi_type]} tokens)")
