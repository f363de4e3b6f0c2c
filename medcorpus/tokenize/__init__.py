"""Tokenizers, Megatron .bin/.idx shards with per-document provenance, the datatrove tokenize steps (pretraining
and SFT, with chat templates and loss masks)."""

from medcorpus.tokenize.chat import ChatEncoder, ChatError, TemplateError
from medcorpus.tokenize.sft_step import SftShardTokenizer
from medcorpus.tokenize.shard_reader import ShardReader, list_shards
from medcorpus.tokenize.shards import ShardFormatError, ShardWriter, token_dtype
from medcorpus.tokenize.step import ShardTokenizer
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, NAMED_TOKENIZERS, Tokenizer, load_tokenizer

__all__ = [
    "ChatEncoder",
    "ChatError",
    "DEFAULT_TOKENIZER",
    "NAMED_TOKENIZERS",
    "SftShardTokenizer",
    "ShardFormatError",
    "ShardReader",
    "ShardTokenizer",
    "ShardWriter",
    "TemplateError",
    "Tokenizer",
    "list_shards",
    "load_tokenizer",
    "token_dtype",
]
