"""Attention that stops at document boundaries inside a packed window (`--doc-mask`).

A window of `seq_len` input tokens packs several documents; `BlendedWindows(return_boundaries=True)`
gives the positions where documents start. With the mask a token attends only to earlier tokens of
its own document, and position ids restart at 0 with each document, so a packed window computes what
each of its documents would compute alone (tested: equal logits). Two implementations:

- ``flex_attention`` (CUDA): a `BlockMask` from `create_block_mask`, which skips the fully masked
  blocks, so the cost falls with the number of documents instead of rising;
- ``sdpa`` (CPU, and a fallback): the same mask as a dense boolean (batch, 1, L, L) tensor.

Hugging Face models take either as an already prepared 4D `attention_mask`.
"""

from __future__ import annotations

import numpy as np


def document_index(boundaries: list[np.ndarray], length: int):
    """(batch, length) int64: for each position, the number of document starts at or before it."""
    import torch

    positions = np.arange(length)
    rows = [np.searchsorted(np.asarray(starts, dtype=np.int64), positions, side="right") for starts in boundaries]
    return torch.from_numpy(np.stack(rows).astype(np.int64))


def position_ids(documents):
    """Position of each token inside its own document (restarting at 0 at every document start)."""
    import torch

    length = documents.shape[1]
    positions = torch.arange(length, device=documents.device).expand_as(documents)
    starts = torch.ones_like(documents, dtype=torch.bool)
    starts[:, 1:] = documents[:, 1:] != documents[:, :-1]
    first = torch.where(starts, positions, torch.zeros_like(positions))
    return positions - torch.cummax(first, dim=1).values


def attention_mask(documents, implementation: str):
    """The causal, same-document mask for `documents` in the form `implementation` takes."""
    if implementation == "flex_attention":
        from torch.nn.attention.flex_attention import create_block_mask

        def same_document(b, h, q, kv):
            return (q >= kv) & (documents[b, q] == documents[b, kv])

        batch, length = documents.shape
        return create_block_mask(same_document, batch, None, length, length, device=documents.device)
    import torch

    length = documents.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=documents.device).tril()
    same = documents[:, :, None] == documents[:, None, :]
    return (same & causal)[:, None, :, :]


def model_inputs(boundaries: list[np.ndarray], length: int, implementation: str, device) -> dict:
    """`attention_mask` and `position_ids` keyword arguments for a packed micro-batch."""
    documents = document_index(boundaries, length).to(device)
    return {"attention_mask": attention_mask(documents, implementation), "position_ids": position_ids(documents)}
