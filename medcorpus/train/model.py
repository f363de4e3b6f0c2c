"""The model: a local Hugging Face causal LM or a random Llama from a preset, wrapped with FSDP2."""

from __future__ import annotations

import os

# Random Llama shapes: "tiny" for tests on CPU, "100m" (~110M parameters, tied embeddings) and "1b"
# (~1.1B parameters, the TinyLlama shape: grouped-query attention with 4 key/value heads) for GPU checks.
PRESETS: dict[str, dict] = {
    "tiny": dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
    ),
    "100m": dict(
        hidden_size=768,
        intermediate_size=2048,
        num_hidden_layers=12,
        num_attention_heads=12,
        num_key_value_heads=12,
        tie_word_embeddings=True,
    ),
    "1b": dict(
        hidden_size=2048,
        intermediate_size=5632,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
    ),
}


def build_model(model_path: str | None, preset: str | None, vocab_size: int, seq_len: int):
    """Load `model_path` (local files only, float32 master weights) or build a random Llama `preset`."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    if model_path:
        if not os.path.isdir(model_path):
            raise ValueError(f"--model must be a local checkpoint folder, got {model_path}")
        return AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True, dtype=torch.float32)
    if preset not in PRESETS:
        raise ValueError(f"unknown random Llama preset {preset!r}; choose from {sorted(PRESETS)}")
    config = LlamaConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max(seq_len, 128),
        attention_dropout=0.0,
        **PRESETS[preset],
    )
    config._attn_implementation = "sdpa"
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


def decoder_layers(model) -> list:
    """The decoder blocks of a Hugging Face causal LM (Llama-family: model.model.layers)."""
    base = getattr(model, getattr(model, "base_model_prefix", "model"), None) or model.model
    layers = getattr(base, "layers", None)
    if layers is None:
        raise ValueError(f"cannot find decoder layers on {type(model).__name__}; expected a Llama-family model")
    return list(layers)


def shard_model(model, device, bf16: bool, activation_checkpointing: bool) -> None:
    """Activation checkpointing (optional), then `fully_shard` on every decoder layer and on the root."""
    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    model.config.use_cache = False  # training never reuses key/value caches
    if activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.to(device)
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else None
    kwargs = {"mp_policy": policy} if policy is not None else {}
    for layer in decoder_layers(model):
        fully_shard(layer, **kwargs)
    fully_shard(model, **kwargs)


def count_parameters(model) -> tuple[int, int]:
    """(all parameters, parameters outside the input embedding), counted on the full unsharded shapes."""
    total = sum(parameter.numel() for parameter in model.parameters())
    embedding = model.get_input_embeddings().weight.numel()
    return total, total - embedding


def peak_flops(device) -> float | None:
    """Dense bf16 peak FLOP/s of known GPUs (for an MFU estimate), else None."""
    import torch

    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in (("H100", 989e12), ("H200", 989e12), ("A100", 312e12), ("L40S", 362e12), ("A10", 125e12)):
        if key in name:
            return tflops
    return None
