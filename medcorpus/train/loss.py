"""Next-token cross-entropy over a micro-batch: every target (pretraining) or only the targets whose loss mask
is 1 (SFT: target position t is token t + 1, so its mask is `mask[:, 1:]`), averaged over those targets, or
summed (the training loop divides the sum by the trained targets of the whole step, over its micro-batches and
ranks). A micro-batch without a trained target gives loss 0 (and zero gradients), never NaN."""

from __future__ import annotations


def next_token_loss(logits, tokens, mask=None, reduction: str = "mean"):
    """(loss, trained targets) for `logits` (batch, L, vocab) predicting `tokens[:, 1:]` of `tokens`
    (batch, L + 1); `mask` (batch, L + 1, 1 = trained on) restricts the loss to masked-in targets; with
    `reduction="sum"` (masked only) the loss is their summed cross-entropy, for the caller to normalise."""
    import torch
    import torch.nn.functional as F

    targets = tokens[:, 1:]
    if mask is None:
        return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten()), torch.tensor(targets.numel())
    trained = mask[:, 1:].bool()
    count = trained.sum()
    ignored = targets.masked_fill(~trained, -100)
    total = F.cross_entropy(logits.float().flatten(0, 1), ignored.flatten(), ignore_index=-100, reduction="sum")
    return (total if reduction == "sum" else total / count.clamp(min=1)), count
