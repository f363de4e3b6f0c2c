"""Benchmark: continued pretraining on one GPU: tokens/s, MFU, data wait, peak memory, loss, resume, doc mask.

One script for the device session (issue 18): it builds token shards from real samples (the PubMed
baseline file and the PMC articles of ../shared/data, a few million tokens), then trains random Llamas
("100m", "1b"; bf16, FSDP2) for `--steps` steps with and without `--doc-mask`, checks that a run
stopped halfway and resumed logs the same losses as the uninterrupted one, and times, side by side,
the loader the trainer uses against a plain `torch.utils.data.DataLoader` over a Megatron
GPTDataset-style index of the same shards (megatron-core's IndexedDataset; document order shuffled
per epoch, then sample order), both delivering the trainer's micro-batches. Writes `summary.json`
and `loss.svg` to `--out`. `--smoke` runs the same on CPU with the tiny model in a minute (what CI's
reviewers can rerun without a GPU).

Usage: python benchmarks/bench_train_gpu.py --out /tmp/gpu-bench [--steps 300] [--models 100m 1b]
       python benchmarks/bench_train_gpu.py --out /tmp/smoke --smoke
       python benchmarks/bench_train_gpu.py --out /tmp/loaders --loaders-only   (CPU: the loaders alone)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from benchutil import DEFAULT_DATA

WARMUP_STEPS = 10  # excluded from the medians (compilation, allocator warm-up)


def build_shards(data: Path, work: Path) -> Path:
    """PubMed baseline + PMC articles, parsed and tokenized (Mistral 32k), once."""
    tokens = work / "tokens"
    if list(tokens.glob("*.bin")):
        return tokens
    medcorpus = [sys.executable, "-m", "medcorpus"]
    pubmed = str(data / "pubmed" / "pubmed20n0014.xml.gz")
    subprocess.run([*medcorpus, "sources", "pubmed", pubmed, "-o", str(work / "pubmed")], check=True)
    subprocess.run([*medcorpus, "sources", "pmc", str(data / "pmc_oa"), "-o", str(work / "pmc")], check=True)
    folders = [str(work / "pubmed"), str(work / "pmc")]
    subprocess.run([*medcorpus, "tokenize", *folders, "-o", str(tokens), "--workers", "4"], check=True)
    return tokens


def train(tokens: Path, out: Path, preset: str, args, *extra: str) -> list[dict]:
    """One training run (torchrun, one process); its per-step metrics."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1"]
    command += ["-m", "medcorpus.train", "--shards", str(tokens), "--random-llama", preset, "--vocab-size", "32000"]
    command += ["--seq-len", str(args.seq_len), "--micro-batch", str(args.micro_batch), "--steps", str(args.steps)]
    command += ["--warmup", "20", "--save-every", str(args.steps), "--out", str(out), *extra]
    subprocess.run(command, check=True)
    return [json.loads(line) for line in open(out / "metrics.jsonl")]


def summarize(metrics: list[dict]) -> dict:
    steady = [m for m in metrics if m["step"] > WARMUP_STEPS] or metrics
    out = {
        "steps": len(metrics),
        "tokens_per_s": statistics.median(m["tokens_per_s"] for m in steady),
        "data_wait": statistics.mean(m["data_wait"] for m in steady),
        "first_loss": metrics[0]["loss"],
        "last_loss": metrics[-1]["loss"],
    }
    for key in ("mfu", "peak_memory_gb"):
        if key in steady[-1]:
            out[key] = (
                max(m[key] for m in steady) if key == "peak_memory_gb" else statistics.median(m[key] for m in steady)
            )
    return out


class MegatronStyleWindows:
    """A Megatron GPTDataset-style index over the same shards, for a torch DataLoader: documents shuffled
    per epoch (numpy RandomState(seed)), concatenated, cut into `seq_len + 1`-token samples, sample order
    shuffled."""

    def __init__(self, folder: Path, seq_len: int, seed: int = 1234):
        from megatron.core.datasets.indexed_dataset import IndexedDataset

        self.datasets = [IndexedDataset(str(p.with_suffix(""))) for p in sorted(folder.glob("*.bin"))]
        sizes = np.concatenate([d.sequence_lengths for d in self.datasets]).astype(np.int64)
        owner = np.concatenate([np.full(len(d), i) for i, d in enumerate(self.datasets)])
        local = np.concatenate([np.arange(len(d)) for d in self.datasets])
        order = np.random.RandomState(seed).permutation(len(sizes))
        self.documents = np.stack([owner[order], local[order]], axis=1)
        self.starts = np.concatenate([[0], np.cumsum(sizes[order])])
        self.seq_len = seq_len
        count = (int(self.starts[-1]) - 1) // seq_len
        self.shuffle = np.random.RandomState(seed + 1).permutation(count)

    def __len__(self) -> int:
        return len(self.shuffle)

    def __getitem__(self, index: int):
        import torch

        start = int(self.shuffle[index]) * self.seq_len
        stop = start + self.seq_len + 1
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        pieces, doc = [], first
        while self.starts[doc] < stop:
            owner, local = self.documents[doc]
            tokens = self.datasets[owner][int(local)]
            lo, hi = max(start, int(self.starts[doc])), min(stop, int(self.starts[doc + 1]))
            pieces.append(tokens[lo - int(self.starts[doc]) : hi - int(self.starts[doc])])
            doc += 1
        return torch.from_numpy(np.concatenate(pieces).astype(np.int64))


def loader_rates(tokens: Path, seq_len: int, micro_batch: int, batches: int) -> dict:
    """Tokens/s each loader delivers as micro-batches: ours (what the trainer uses) and the baseline."""
    import torch

    from medcorpus.train.batches import Prefetcher
    from medcorpus.train.batches import batches as our_batches
    from medcorpus.train.blend import BlendedWindows

    rates = {}
    source = Prefetcher(our_batches(BlendedWindows([(str(tokens), 1.0)], seq_len=seq_len), micro_batch))
    next(source)
    started = time.perf_counter()
    for _ in range(batches):
        torch.from_numpy(next(source).tokens)
    rates["medcorpus BlendedWindows + prefetch thread"] = (
        batches * micro_batch * seq_len / (time.perf_counter() - started)
    )
    source.close()
    dataset = MegatronStyleWindows(tokens, seq_len)
    loader = torch.utils.data.DataLoader(dataset, batch_size=micro_batch, num_workers=2, pin_memory=False)
    stream = iter(loader)
    next(stream)
    started = time.perf_counter()
    for _ in range(batches):
        next(stream)
    rates["torch DataLoader (2 workers) over a GPTDataset-style index"] = (
        batches * micro_batch * seq_len / (time.perf_counter() - started)
    )
    return rates


def plot(runs: dict[str, list[dict]], path: Path) -> None:
    """Loss curves as a small self-contained SVG (no plotting library needed)."""
    width, height, pad = 640, 320, 40
    points = [(m["step"], m["loss"]) for metrics in runs.values() for m in metrics]
    x_max = max(x for x, _ in points)
    y_min, y_max = min(y for _, y in points), max(y for _, y in points)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

    def xy(step: float, loss: float) -> str:
        x = pad + (width - 2 * pad) * step / x_max
        y = height - pad - (height - 2 * pad) * (loss - y_min) / ((y_max - y_min) or 1)
        return f"{x:.1f},{y:.1f}"

    body = [f'<rect width="{width}" height="{height}" fill="white"/>']
    for number, (name, metrics) in enumerate(runs.items()):
        color = colors[number % len(colors)]
        line = " ".join(xy(m["step"], m["loss"]) for m in metrics)
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{line}"/>')
        body.append(f'<text x="{width - 170}" y="{pad + 16 * number}" fill="{color}" font-size="12">{name}</text>')
    body.append(
        f'<text x="{pad}" y="{height - 10}" font-size="12">step 0 to {x_max}; loss {y_min:.2f} to {y_max:.2f}</text>'
    )
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(body)}</svg>\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--models", nargs="+", default=["100m", "1b"])
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny model, 12 steps, seq_len 64")
    parser.add_argument("--loaders-only", action="store_true", help="only the two loaders' tokens/s (no GPU needed)")
    args = parser.parse_args()
    if args.smoke:
        args.models, args.steps, args.seq_len, args.micro_batch = ["tiny"], 12, 64, 2
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    args.out.mkdir(parents=True, exist_ok=True)
    tokens = build_shards(args.data, args.out / "work")
    if args.loaders_only:
        print(json.dumps(loader_rates(tokens, args.seq_len, args.micro_batch, 100), indent=1))
        return
    summary: dict = {"seq_len": args.seq_len, "micro_batch": args.micro_batch, "steps": args.steps, "runs": {}}
    curves: dict[str, list[dict]] = {}
    for preset in args.models:
        for mask in (False, True):
            name = f"{preset}{' doc-mask' if mask else ''}"
            metrics = train(tokens, args.out / "runs" / name.replace(" ", "-"), preset, args, *(["--doc-mask"] * mask))
            summary["runs"][name], curves[name] = summarize(metrics), metrics
    first = args.models[0]
    half = str(args.steps // 2)
    resumed = args.out / "runs" / f"{first}-resumed"
    train(tokens, resumed, first, args, "--stop-at", half)
    losses = train(tokens, resumed, first, args, "--resume")
    full = {m["step"]: m["loss"] for m in curves[first]}
    summary["resume_max_loss_difference"] = max(abs(m["loss"] - full[m["step"]]) for m in losses)
    summary["loaders_tokens_per_s"] = loader_rates(tokens, args.seq_len, args.micro_batch, 50)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    plot(curves, args.out / "loss.svg")
    print(json.dumps(summary, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
