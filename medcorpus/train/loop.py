"""The FSDP2 training loop (launch with torchrun; gloo on CPU, NCCL on GPU): continued pretraining on packed
windows, or supervised fine-tuning (`sft`) on SftRows with the loss over the masked-in answer tokens only."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass

from loguru import logger

from medcorpus.train import checkpoint
from medcorpus.train.batches import Prefetcher, batches
from medcorpus.train.blend import BlendedWindows
from medcorpus.train.doc_mask import model_inputs
from medcorpus.train.loss import next_token_loss
from medcorpus.train.model import build_model, count_parameters, peak_flops, shard_model
from medcorpus.train.schedule import make_scheduler


@dataclass
class TrainConfig:
    shards: list[tuple[str, float]]
    out: str
    model: str | None = None
    random_llama: str | None = None  # preset name when no --model
    vocab_size: int = 32768  # random Llama only
    seq_len: int = 4096
    micro_batch: int = 1
    grad_accum: int = 1
    lr: float = 3e-4
    min_lr_ratio: float = 0.1
    warmup: int = 100
    steps: int = 1000
    weight_decay: float = 0.1
    clip: float = 1.0
    seed: int = 0
    save_every: int = 100
    keep: int = 2
    resume: bool = False
    activation_checkpointing: bool = False
    stop_at: int | None = None  # stop (with a checkpoint) after this step; the schedule still spans `steps`
    log_samples: bool = False  # write each step's (set, window) ids per rank to samples.rank<R>.jsonl
    prefetch: int = 4
    doc_mask: bool = False  # attention stops at document boundaries; positions restart per document
    sft: str | None = None  # "pack" or "pad": SFT rows of whole examples, loss on mask-1 targets; None = pretraining


def init_distributed():
    """Process group from torchrun's environment (or a one-process group); returns (rank, world, device)."""
    import torch
    import torch.distributed as dist

    if "RANK" not in os.environ:  # plain `python -m medcorpus.train`: a group of one
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, device_id=device if backend == "nccl" else None)
    return dist.get_rank(), dist.get_world_size(), device


def parameter_groups(model, weight_decay: float) -> list[dict]:
    """Decay matrices; leave norms and biases (one-dimensional parameters) undecayed."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    plain = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def train(config: TrainConfig) -> list[dict]:
    """Run (or resume) training; returns rank 0's per-step metrics of this invocation."""
    import torch
    import torch.distributed as dist

    rank, world, device = init_distributed()
    cuda = device.type == "cuda"
    os.makedirs(config.out, exist_ok=True)
    if rank == 0:
        checkpoint.remove_partial(config.out)
    dist.barrier()
    torch.manual_seed(config.seed)
    model = build_model(config.model, config.random_llama, config.vocab_size, config.seq_len)
    attention = "flex_attention" if cuda else "sdpa"  # flex skips masked blocks; the dense mask is exact on CPU
    if config.doc_mask:
        model.config._attn_implementation = attention
    vocab = model.config.vocab_size
    params, non_embedding = count_parameters(model)
    shard_model(model, device, bf16=cuda, activation_checkpointing=config.activation_checkpointing)
    model.train()
    optimizer = torch.optim.AdamW(parameter_groups(model, config.weight_decay), lr=config.lr, betas=(0.9, 0.95))
    scheduler = make_scheduler(optimizer, config.warmup, config.steps, config.min_lr_ratio)
    windows = BlendedWindows(
        config.shards,
        seq_len=config.seq_len,
        seed=config.seed,
        rank=rank,
        world_size=world,
        return_boundaries=config.doc_mask,
        sft=config.sft,
    )
    if rank == 0:
        for (paths, _), rows in zip(config.shards, windows.sets):
            if getattr(rows, "too_long", 0):
                logger.warning(f"{rows.too_long:,} examples of {paths} longer than {config.seq_len + 1} tokens skipped")

    step = 0
    latest = checkpoint.latest_checkpoint(config.out) if config.resume else None
    if latest:
        saved = checkpoint.load(latest, model, optimizer)
        if saved["world_size"] != world:
            raise ValueError(f"checkpoint {latest} was written by {saved['world_size']} ranks, this run has {world}")
        scheduler.load_state_dict(saved["scheduler"])
        windows.load_state_dict(saved["data"][rank])
        step = int(saved["step"])
        if rank == 0:
            logger.info(f"resumed from {latest} at step {step}")
    elif config.resume and rank == 0:
        logger.info(f"no complete checkpoint under {config.out}; starting from scratch")
    data_state = windows.state_dict()

    def to_tensor(batch):
        tensors = [torch.from_numpy(array) for array in (batch.tokens, batch.mask) if array is not None]
        tensors = [tensor.pin_memory() for tensor in tensors] if cuda else tensors
        return batch, tensors[0], tensors[1] if len(tensors) > 1 else None

    source = Prefetcher(batches(windows, config.micro_batch), depth=config.prefetch, transform=to_tensor)

    tokens_per_step = config.micro_batch * config.grad_accum * config.seq_len * world
    peak = peak_flops(device)
    samples_log = open(os.path.join(config.out, f"samples.rank{rank}.jsonl"), "a") if config.log_samples else None
    metrics_log = open(os.path.join(config.out, "metrics.jsonl"), "a") if rank == 0 else None
    if rank == 0:
        logger.info(
            f"model: {params:,} parameters ({non_embedding:,} outside the embedding); {world} ranks on {device.type}; "
            f"{tokens_per_step:,} tokens per step; {len(windows):,} windows per rank per epoch"
        )
    last = min(config.steps, config.stop_at) if config.stop_at else config.steps
    history: list[dict] = []
    try:
        while step < last:
            step += 1
            started = time.perf_counter()
            waited = 0.0
            total_loss = torch.zeros((), device=device)
            trained = torch.zeros((), dtype=torch.int64, device=device)
            ids: list = []
            fetched = []
            for _ in range(config.grad_accum):
                before = time.perf_counter()
                batch, data, mask = next(source)
                data = data.to(device, non_blocking=True)
                mask = mask.to(device, non_blocking=True) if mask is not None else None
                fetched.append((batch, data, mask))
                waited += time.perf_counter() - before
            if config.sft:  # the step's loss is the mean over all its trained targets, on every rank
                trained += sum(int(batch.mask[:, 1:].sum()) for batch, _, _ in fetched)
                dist.all_reduce(trained)
                scale = world / max(int(trained), 1)  # FSDP averages gradients over the ranks
            for batch, data, mask in fetched:
                if int(batch.tokens.max()) >= vocab:
                    raise ValueError(f"token id {int(batch.tokens.max())} >= model vocabulary size {vocab}")
                extra = {}
                if config.doc_mask:
                    extra = model_inputs(batch.boundaries, config.seq_len, attention, device)
                logits = model(input_ids=data[:, :-1], **extra).logits
                if config.sft:
                    loss, _ = next_token_loss(logits, data, mask, reduction="sum")
                    (loss * scale).backward()
                else:
                    loss, _ = next_token_loss(logits, data)
                    (loss / config.grad_accum).backward()
                total_loss += loss.detach()
                ids.extend(batch.ids)
                data_state = batch.state
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            dist.all_reduce(total_loss)
            loss_value = total_loss.item() / (max(int(trained), 1) if config.sft else config.grad_accum * world)
            seconds = time.perf_counter() - started
            waits = torch.tensor([waited, seconds], dtype=torch.float64)
            dist.all_reduce(waits, op=dist.ReduceOp.MAX)  # slowest rank's wait and step time
            if samples_log:
                samples_log.write(json.dumps({"step": step, "rank": rank, "samples": [list(i) for i in ids]}) + "\n")
                samples_log.flush()
            if rank == 0:
                record = {
                    "step": step,
                    "loss": loss_value,
                    "lr": lr,
                    "grad_norm": float(norm),
                    "tokens_per_s": tokens_per_step / seconds,
                    "data_wait": float(waits[0] / waits[1]),
                    "step_s": seconds,
                }
                if config.sft:
                    record["trained_tokens"] = int(trained)
                if peak:
                    record["mfu"] = 6 * params * record["tokens_per_s"] / (peak * world)
                if cuda:
                    record["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
                history.append(record)
                metrics_log.write(json.dumps(record) + "\n")
                metrics_log.flush()
                mfu = f" mfu {record['mfu']:.1%}" if peak else ""
                sft = f" trained_tokens {record['trained_tokens']:,}" if config.sft else ""
                logger.info(
                    f"step {step}/{config.steps} loss {loss_value:.4f} lr {lr:.3e} grad_norm {record['grad_norm']:.3f} "
                    f"tokens/s {record['tokens_per_s']:,.0f} data_wait {record['data_wait']:.2%}{mfu}{sft}"
                )
            if step % config.save_every == 0 or step == last:
                small = {
                    "scheduler": scheduler.state_dict(),
                    "world_size": world,
                    "config": {key: value for key, value in asdict(config).items() if key != "resume"},
                }
                folder = checkpoint.save(config.out, step, model, optimizer, small, data_state, config.keep)
                if rank == 0:
                    logger.info(f"checkpoint {folder}")
    finally:
        source.close()
        for handle in (samples_log, metrics_log):
            if handle:
                handle.close()
    if rank == 0 and history:
        logger.info(summary(history))
    return history


def summary(history: list[dict]) -> str:
    """Mean throughput figures over the steps after the first tenth (at least the first step is left out)."""
    steady = history[max(1, len(history) // 10) :] or history
    seconds = sum(r["step_s"] for r in steady)
    tokens_per_s = sum(r["tokens_per_s"] * r["step_s"] for r in steady) / seconds
    wait = sum(r["data_wait"] * r["step_s"] for r in steady) / seconds
    mfu = f", MFU {sum(r['mfu'] for r in steady) / len(steady):.1%}" if "mfu" in steady[0] else ""
    return (
        f"summary over steps {steady[0]['step']}-{steady[-1]['step']}: {tokens_per_s:,.0f} tokens/s{mfu}, "
        f"data wait {wait:.2%} of step time; loss {history[0]['loss']:.3f} -> {history[-1]['loss']:.3f}"
    )
