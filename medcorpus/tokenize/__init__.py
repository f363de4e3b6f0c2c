"""Tokenizers, Megatron .bin/.idx shards with per-document provenance, and the datatrove tokenize step."""

from medcorpus.tokenize.shards import ShardFormatError, ShardReader, ShardWriter, list_shards, token_dtype
from medcorpus.tokenize.step import ShardTokenizer
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, NAMED_TOKENIZERS, Tokenizer, load_tokenizer

__all__ = [
    "DEFAULT_TOKENIZER",
    "NAMED_TOKENIZERS",
    "ShardFormatError",
    "ShardReader",
    "ShardTokenizer",
    "ShardWriter",
    "Tokenizer",
    "list_shards",
    "load_tokenizer",
    "token_dtype",
]
