"""Training-side data access: packed, shuffled, resumable token windows (or SFT rows) over Megatron shards."""

from medcorpus.train.blend import BlendedWindows, parse_shard_spec
from medcorpus.train.dataset import PackedWindows, expand_shard_paths, torch_dataset
from medcorpus.train.sft_rows import SftRows

__all__ = ["BlendedWindows", "PackedWindows", "SftRows", "expand_shard_paths", "parse_shard_spec", "torch_dataset"]
