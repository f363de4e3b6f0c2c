"""`medcorpus plan CONFIG`: documents, tokens, the mix, disk and CPU time of a run, before it starts."""

from __future__ import annotations

import json

import click

from medcorpus.cli.common import fail, parse_settings
from medcorpus.run.config import ConfigError


@click.command("plan")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--sample-files", type=click.IntRange(min=1), default=2, show_default=True, help="Files read per source.")
@click.option("--seed", type=int, default=None, help="Seed of the file sample (default: the config's seed).")
@click.option("--set", "settings_", multiple=True, metavar="KEY=VALUE", help="Override one config key, dotted.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(config: str, sample_files: int, seed: int | None, settings_: tuple[str, ...], as_json: bool) -> None:
    """Estimate a run from a sample of each source's files, before anything runs.

    Documents and tokens are upper bounds: duplicates and abstracts with PMC full text are not subtracted.

    Example: medcorpus plan examples/me_llama.yaml --set tokenizer.name=mistral-7b-v0.1
    """
    from medcorpus.run.config import load_config
    from medcorpus.run.plan import estimate_run

    try:
        settings = load_config(config, parse_settings(settings_), check_inputs=False)
        result = estimate_run(settings, sample_files, seed).as_dict()
    except (ConfigError, ValueError) as error:
        fail(str(error))
    if as_json:
        click.echo(json.dumps(result, indent=1, sort_keys=True, default=float))
        return
    _print(result)


def _print(result: dict) -> None:
    click.echo(f"{'source':<20} {'files':>7} {'input GB':>9} {'sampled':>8} {'documents':>12} {'tokens':>15}")
    for source in result["sources"]:
        if source["missing"]:
            click.echo(f"{source['name']:<20} missing: {source['missing']}")
            continue
        if not source["tokens"]:
            click.echo(f"{source['name']:<20} {source['files']:>7}  no documents kept in the sample")
        for key in sorted(source["tokens"]):
            click.echo(
                f"{source['name'] + ' → ' + key:<20} {source['files']:>7} {source['input_bytes'] / 1e9:>9.2f}"
                f" {source['sampled_files']:>8} {source['documents'][key]:>12,.0f} {source['tokens'][key]:>15,.0f}"
            )
    mix = result["mix"]
    if not mix["feasible"]:
        click.echo(f"mix: not feasible: {mix['error']}")
    else:
        click.echo(f"mix: {mix['total_tokens']:,} tokens (largest feasible {mix['largest_total_tokens']:,})")
        for key, tokens in sorted(mix["source_tokens"].items()):
            click.echo(f"  {key:<18} {tokens:>15,} tokens  {mix['epochs'].get(key, 0):.2f} epochs")
    click.echo(f"{'stage':<12} {'CPU hours':>10} {'disk GB':>9}")
    for name, stage in result["stages"].items():
        click.echo(f"{name:<12} {stage['cpu_seconds'] / 3600:>10.2f} {stage['disk_bytes'] / 1e9:>9.2f}")
    total = result["total"]
    click.echo(f"{'total':<12} {total['cpu_hours']:>10.2f} {total['disk_gb']:>9.2f}  (mix CPU not estimated)")
