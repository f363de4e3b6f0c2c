"""`medcorpus sft`: instruction examples into SFT shards with loss masks, and a look at what they train on."""

from __future__ import annotations

import json
from pathlib import Path

import click

from medcorpus.cli.common import OUTPUT, WORKERS, fail, run_single
from medcorpus.run.config import ConfigError, SftConfig, TokenizerConfig
from medcorpus.run.context import StageContext
from medcorpus.tokenize.chat import LOSSES, TEMPLATES
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER

TOKENIZER_HELP = "A named tokenizer, a SentencePiece .model or a Hugging Face tokenizer.json."


@click.group("sft")
def sft() -> None:
    """Supervised fine-tuning shards: chat templates and loss masks over instruction examples.

    Example: medcorpus sft tokenize out/instructions -o out/sft --template chatml --tokenizer tok/tokenizer.json
    """


@sft.command("tokenize")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@OUTPUT
@click.option("--tokenizer", default=DEFAULT_TOKENIZER, show_default=True, help=TOKENIZER_HELP)
@click.option(
    "--template",
    type=click.Choice(TEMPLATES),
    default="llama-2",
    show_default=True,
    help="Chat template; `tokenizer`: the chat_template of the tokenizer_config.json beside the tokenizer.",
)
@click.option(
    "--loss",
    type=click.Choice(LOSSES),
    default="answers",
    show_default=True,
    help="Train on the last assistant turn only (answers) or on every assistant turn (assistant).",
)
@click.option("--max-tokens", type=int, default=4096, show_default=True, help="Longer examples are excluded.")
@click.option("--system", default=None, help="System prompt for examples that have none.")
@WORKERS
def tokenize(
    inputs: tuple[str, ...],
    output: str,
    tokenizer: str,
    template: str,
    loss: str,
    max_tokens: int,
    system: str | None,
    workers: int,
) -> None:
    """Encode instruction examples (from `medcorpus sources instructions`) into Megatron shards with loss masks.

    Example: medcorpus sft tokenize out/instructions -o out/sft --template llama-2 --loss answers
    """
    from pydantic import ValidationError

    from medcorpus.io.formats import detect_format
    from medcorpus.run.stages import chat_encoder, sft_tokenize_stage

    try:
        settings = TokenizerConfig(name=tokenizer)
        options = SftConfig(template=template, loss=loss, max_tokens=max_tokens, system=system)
        encoder = chat_encoder(settings, options)
        context = StageContext(output, detect_format(inputs[0]), workers)
        stage = sft_tokenize_stage(list(inputs), context, encoder, options.max_tokens)
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"--{'-'.join(str(part) for part in first['loc']).replace('_', '-')}: {first['msg']}")
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    identity, files = encoder.provenance()
    config = {"tokenizer": settings.model_dump(), "sft": options.model_dump()}
    run_single(stage, files, config, 0, identity, workers)
    click.echo(f"SFT shards written to {output}")


def manifest_tokenizer(shards: Path) -> str | None:
    """The tokenizer the manifest beside (or above) `shards` names, if there is one."""
    for folder in [shards if shards.is_dir() else shards.parent, *shards.parents]:
        path = folder / "manifest.json"
        if path.is_file():
            name = ((json.loads(path.read_text()).get("config") or {}).get("tokenizer") or {}).get("name")
            return name if isinstance(name, str) else None
    return None


@sft.command("show")
@click.argument("shards", type=click.Path(exists=False))
@click.option("--count", type=click.IntRange(min=1), default=3, show_default=True, help="Examples to show.")
@click.option("--tokenizer", default=None, help=f"{TOKENIZER_HELP} Default: the manifest's, else {DEFAULT_TOKENIZER}.")
def show(shards: str, count: int, tokenizer: str | None) -> None:
    """Print the first examples of an SFT shard (a prefix, its .bin/.idx, or a folder of shards) decoded, with
    the tokens trained on between [[ and ]].

    Example: medcorpus sft show out/sft/00000 --count 5
    """
    from medcorpus.tokenize import ShardFormatError, ShardReader, list_shards, load_tokenizer
    from medcorpus.tokenize.chat import marked_text

    path = Path(shards)
    try:
        if path.is_dir():
            prefixes = list_shards(str(path))
        else:
            prefixes = [str(path.with_suffix("")) if path.suffix in (".bin", ".idx") else str(path)]
        if not prefixes:
            raise ValueError(f"no shards in {shards}")
        decoder = load_tokenizer(tokenizer or manifest_tokenizer(path) or DEFAULT_TOKENIZER, False, False)
        shown = 0
        for prefix in prefixes:
            reader = ShardReader(prefix)
            if not reader.has_masks:
                raise ValueError(f"{prefix} has no loss mask: not an SFT shard")
            for i in range(min(len(reader), count - shown)):
                ids, mask = reader.tokens(i), reader.mask(i)
                click.echo(
                    f"== {Path(prefix).name} #{i} {reader.doc_ids[i]}: {len(ids)} tokens, {int(mask.sum())} trained"
                )
                click.echo(marked_text(decoder, ids, mask))
                shown += 1
            if shown >= count:
                break
    except (ShardFormatError, ValueError, ConfigError) as error:
        fail(str(error))
