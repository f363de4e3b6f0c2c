"""Document-aware attention: a packed window computes what each of its documents computes alone."""

from __future__ import annotations

import numpy as np
import pytest
from support.requirements import require_module
from support.train_shards import train_three_steps, write_shards


@pytest.fixture(scope="module")
def modules():
    for name in ("torch", "transformers"):
        require_module(name, f"{name} is not installed (the train extra: pip install -e '.[train]')")
    import torch

    from medcorpus.train.doc_mask import document_index, model_inputs, position_ids
    from medcorpus.train.model import build_model

    return torch, document_index, model_inputs, position_ids, build_model


def test_document_index_and_positions_restart(modules):
    torch, document_index, _model_inputs, position_ids, _build = modules
    documents = document_index([np.array([0, 3, 7]), np.array([2])], 9)
    assert documents.tolist() == [[1, 1, 1, 2, 2, 2, 2, 3, 3], [0, 0, 1, 1, 1, 1, 1, 1, 1]]
    assert position_ids(documents).tolist() == [[0, 1, 2, 0, 1, 2, 3, 0, 1], [0, 1, 0, 1, 2, 3, 4, 5, 6]]


@pytest.mark.parametrize("implementation", ["sdpa", "flex_attention"])
def test_packed_window_equals_each_document_alone(modules, implementation):
    torch, _index, model_inputs, _positions, build_model = modules
    torch.manual_seed(0)
    model = build_model(None, "tiny", 97, 32).eval()
    model.config._attn_implementation = implementation
    documents = [torch.randint(0, 97, (n,)) for n in (5, 9, 2)]
    packed = torch.cat(documents)[None]
    with torch.no_grad():
        masked = model(input_ids=packed, **model_inputs([np.array([0, 5, 14])], 16, implementation, "cpu")).logits
        alone = torch.cat([model(input_ids=d[None]).logits[0] for d in documents])
        plain = model(input_ids=packed).logits[0]
    assert torch.allclose(masked[0], alone, atol=1e-5)
    assert not torch.allclose(plain, alone, atol=1e-2)  # without the mask the later documents see the earlier


@pytest.mark.slow
def test_training_with_doc_mask(modules, tmp_path):
    shards = write_shards(tmp_path / "shards", 3, 40)
    train_three_steps(tmp_path / "o", shards, "--tiny-llama", "--vocab-size", "512", "--seq-len", "64", "--doc-mask")
