"""Training-side data access: packed, shuffled, resumable token windows over Megatron shards."""

from medcorpus.train.dataset import PackedWindows, expand_shard_paths, torch_dataset

__all__ = ["PackedWindows", "expand_shard_paths", "torch_dataset"]
