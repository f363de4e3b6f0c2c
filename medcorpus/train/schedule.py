"""Learning-rate schedule: linear warmup, then cosine decay to a floor, as a LambdaLR factor."""

from __future__ import annotations

import math


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float = 0.1) -> float:
    """LR multiplier after `step` optimizer steps: (step + 1) / warmup during warmup, then cosine to `min_ratio`."""
    if step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(optimizer, warmup: int, total: int, min_ratio: float = 0.1):
    """A torch LambdaLR over `warmup_cosine`; its state dict is small and JSON-friendly."""
    from functools import partial

    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, partial(warmup_cosine, warmup=warmup, total=total, min_ratio=min_ratio))
