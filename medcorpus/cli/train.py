"""`medcorpus train` / `python -m medcorpus.train`: argument parsing for the training loop (run under torchrun).

Example (2 processes on one machine):
    torchrun --nproc-per-node 2 -m medcorpus.train --shards out/demo/run/shards --tiny-llama \\
        --seq-len 128 --micro-batch 4 --grad-accum 2 --steps 50 --warmup 5 --out /tmp/ckpt
Supervised fine-tuning on SFT shards (loss masks beside the tokens): add --sft (pack) or --sft pad.
"""

from __future__ import annotations

import argparse

import click

from medcorpus.train.model import PRESETS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="medcorpus train", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--shards",
        nargs="+",
        required=True,
        metavar="DIR[:WEIGHT]",
        help="shard sets (folders or prefixes), optional blend weight",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="local Hugging Face causal-LM checkpoint folder (no hub download)")
    source.add_argument(
        "--tiny-llama", action="store_const", const="tiny", dest="random_llama", help="random tiny Llama (tests)"
    )
    source.add_argument("--random-llama", choices=sorted(PRESETS), help="random Llama of a preset size")
    p.add_argument("--vocab-size", type=int, default=32768, help="vocabulary of a random Llama")
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--micro-batch", type=int, default=1, help="windows per rank per forward pass")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine floor as a fraction of --lr")
    p.add_argument("--warmup", type=int, default=100, help="linear warmup steps")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps in the whole schedule")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping threshold")
    p.add_argument("--seed", type=int, default=0, help="seeds the data order and the random model")
    p.add_argument("--out", required=True, help="checkpoint and log folder")
    p.add_argument("--save-every", type=int, default=100, help="checkpoint every N steps (and at the end)")
    p.add_argument("--keep", type=int, default=2, help="newest checkpoints kept (0 keeps all)")
    p.add_argument("--resume", action="store_true", help="continue from the latest complete checkpoint in --out")
    p.add_argument("--activation-checkpointing", action="store_true")
    p.add_argument(
        "--doc-mask",
        action="store_true",
        help="attention stops at document boundaries inside a window; positions restart per document",
    )
    p.add_argument(
        "--sft",
        nargs="?",
        const="pack",
        choices=["pack", "pad"],
        default=None,
        help="supervised fine-tuning on SFT shards: rows of whole examples, loss only on mask-1 target tokens;\n"
        "pack (bare --sft): consecutive examples fill each row; pad: one example per row",
    )
    p.add_argument(
        "--stop-at",
        type=int,
        default=None,
        help="stop after this step with a checkpoint (schedule still spans --steps)",
    )
    p.add_argument(
        "--log-samples", action="store_true", help="log each step's (set, window) ids per rank (samples.rank<R>.jsonl)"
    )
    p.add_argument("--prefetch", type=int, default=4, help="micro-batches read ahead on a background thread")
    return p


def main(argv: list[str] | None = None) -> None:
    from medcorpus.train.blend import parse_shard_spec

    args = parser().parse_args(argv)
    for name in ("seq_len", "micro_batch", "grad_accum", "steps", "save_every"):
        if getattr(args, name) < 1:
            parser().error(f"--{name.replace('_', '-')} must be >= 1")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise SystemExit(f"training needs the train extra: pip install 'medcorpus[train]' ({error})") from None
    import torch.distributed as dist

    from medcorpus.train.loop import TrainConfig, train

    values = vars(args)
    values["shards"] = [parse_shard_spec(spec) for spec in args.shards]
    try:
        train(TrainConfig(**values))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@click.command(
    "train", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}, add_help_option=False
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train_command(args: tuple[str, ...]) -> None:
    """Continued pretraining (or SFT with --sft) on shards with FSDP2 (run under torchrun; needs the train extra).

    Example: torchrun --nproc-per-node 8 $(which medcorpus) train --shards out/shards --model ./llama --out ckpt
    """
    main(list(args))
