"""Words and word n-gram hashes, as every decontamination match sees text.

Words are runs of letters and digits, compared lower-cased (case, punctuation and spacing never
matter); each word gets a 64-bit xxhash and each run of `n` words a polynomial hash of its word hashes.
"""

from __future__ import annotations

import re
from itertools import chain

import numpy as np
import xxhash

TOKEN = re.compile(r"[^\W_]+")
_PRIME = np.uint64(0x100000001B3)
_CACHE_LIMIT = 1 << 20


class _WordHashes(dict):
    """word -> 64-bit hash, computed on a miss; words are Zipf-distributed, so most lookups hit."""

    def __missing__(self, word: str) -> int:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[word] = xxhash.xxh3_64_intdigest(word.lower().encode())
        return value


_CACHE = _WordHashes()


def words_of(text: str) -> list[re.Match]:
    """The words of a text as regex matches (their offsets locate cut passages)."""
    return list(TOKEN.finditer(text))


def normal_words(text: str) -> list[str]:
    """The words of a text, lower-cased: its normal form for exact matching."""
    return TOKEN.findall(text.lower())


def hash_ngrams(words: list[str], n: int) -> np.ndarray:
    """uint64 hashes of every run of `n` consecutive (lower-cased) words, in text order."""
    count = len(words) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.fromiter(map(_CACHE.__getitem__, words), np.uint64, len(words))
    out = np.zeros(count, dtype=np.uint64)
    for j in range(n):
        out = out * _PRIME + hashes[j : j + count]  # wraps modulo 2**64
    return out


def batch_hash_ngrams(words: list[list[str]], n: int) -> list[np.ndarray]:
    """`hash_ngrams` of many documents' words: every word hashed in one pass and the n-grams combined over the
    whole batch (the same values, tested), each document's its own slice."""
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    total = int(lengths.sum()) - n + 1
    if total <= 0:
        return [np.zeros(0, dtype=np.uint64) for _ in words]
    hashes = np.fromiter(map(_CACHE.__getitem__, chain.from_iterable(words)), np.uint64, total + n - 1)
    out = np.zeros(total, dtype=np.uint64)
    for j in range(n):
        out = out * _PRIME + hashes[j : j + total]  # wraps modulo 2**64; runs into the next document are cut off
    starts = np.cumsum(lengths) - lengths
    return [out[start : start + max(length - n + 1, 0)] for start, length in zip(starts.tolist(), lengths.tolist())]


def ngram_hashes(text: str, n: int) -> set[int]:
    """The distinct n-gram hashes of a text."""
    return {int(h) for h in hash_ngrams(TOKEN.findall(text), n)}
