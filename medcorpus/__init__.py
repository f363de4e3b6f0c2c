"""medcorpus: build medical continued-pretraining corpora, from raw sources to Megatron shards."""

__version__ = "0.1.0"
