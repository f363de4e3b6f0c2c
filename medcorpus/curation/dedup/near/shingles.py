"""Shingles and MinHash values of many documents at once, for pass 1 of near-duplicate removal.

Text is simplified as datatrove's `simplify_text` does it, split on whitespace, each word hashed
(xxHash64), each word n-gram hashed from its words' hashes; the MinHash values are datatrove's
`(shingle * a + b) mod (2**61 - 1)` minima, computed in blocks over many documents.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

import numpy as np
import regex
import xxhash
from datatrove.utils.text import MONTHS_PATTERN, NUMBERS_PATTERN, PUNCTUATION_TRANS, WEEKDAYS_PATTERN, TextNormConfig
from datatrove.utils.word_tokenizers import WordTokenizer

PRIME = np.uint64((1 << 61) - 1)  # datatrove's Mersenne prime modulus
_BLOCK_COLUMNS = 4096  # shingles per block of the (hashes x shingles) matrix
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)
# ASCII bytes: whitespace (splitting ignores which one) and, when removed, datatrove's punctuation become spaces
_ASCII_SPACES = bytes(32 if chr(i).isspace() else i for i in range(128)) + bytes(range(128, 256))
_ASCII_PUNCTUATION = bytes(32 if i in PUNCTUATION_TRANS else c for i, c in enumerate(_ASCII_SPACES))
_PUNCTUATION = re.compile("[" + "".join(re.escape(chr(i)) for i in sorted(PUNCTUATION_TRANS)) + "]")  # its `translate`
_ASCII_NUMBERS = regex.compile(r"[0-9]+([.,][0-9]+)?")  # NUMBERS_PATTERN, restricted to ASCII text


class SpaceWords(WordTokenizer):
    """Words split on whitespace: datatrove's text simplification has already removed punctuation.

    (datatrove's English tokenizer needs spaCy; shingles only need a stable split.)
    """

    _SPACE = re.compile(r"\s+")

    def word_tokenize(self, text: str) -> list[str]:
        return [word for word in self._SPACE.split(text) if word]

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


def simple_words(text: str, norm: TextNormConfig) -> list[bytes]:
    """The UTF-8 words of datatrove's `simplify_text(text, norm).split()`, minus its whitespace pass.

    Collapsing whitespace runs changes no word: every whitespace character is a starter whose canonical
    decomposition is whitespace (tested), so the diacritics pass treats both texts alike."""
    if norm.lowercase:
        text = text.lower()
    if norm.norm_numbers:  # on ASCII text datatrove's number pattern only meets ASCII digits, dots and commas
        text = (_ASCII_NUMBERS if text.isascii() else NUMBERS_PATTERN).sub("0", text)
    if norm.norm_weekdays:
        text = WEEKDAYS_PATTERN.sub("WEEKDAY", text)
    if norm.norm_monthnames:
        text = MONTHS_PATTERN.sub("MONTH", text)
    if text.isascii():  # the diacritics pass changes no ASCII character
        return text.encode("ascii").translate(_ASCII_PUNCTUATION if norm.remove_punctuation else _ASCII_SPACES).split()
    if norm.remove_punctuation:
        text = _PUNCTUATION.sub(" ", text)
    if norm.norm_unicode_diacritics:  # as datatrove: decompose, drop the nonspacing marks
        text = unicodedata.normalize("NFD", text)
        marks = {ord(c): None for c in set(text) if not c.isascii() and unicodedata.category(c) == "Mn"}
        if marks:
            text = text.translate(marks)
    return [word.encode("utf-8") for word in text.split()]


def _combine(hashes: np.ndarray, n: int, count: int) -> np.ndarray:
    """Hash of each run of `n` consecutive word hashes (the first `count` runs)."""
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for i in range(n):
            combined = combined * _MIX[0] + hashes[i : i + count]
        combined ^= combined >> np.uint64(30)
        combined *= _MIX[1]
        combined ^= combined >> np.uint64(27)
        combined *= _MIX[2]
        combined ^= combined >> np.uint64(31)
    return combined


def word_shingles(words: list[str], n: int) -> np.ndarray:
    """64-bit hashes of the word `n`-grams of `words`, shape (count, 1).

    Each word is hashed once (xxHash64 of its UTF-8 bytes); an n-gram's hash combines its words' hashes by
    position with odd multipliers, then goes through the SplitMix64 finaliser, all in numpy: the same
    quality as hashing the joined n-gram, without building one string per n-gram."""
    if len(words) < n:  # as datatrove: too short for one shingle, so never a near-duplicate
        return np.zeros((0, 1), dtype=np.uint64)
    hashes = np.fromiter((xxhash.xxh64_intdigest(w.encode("utf-8")) for w in words), np.uint64, len(words))
    return _combine(hashes, n, len(words) - n + 1).reshape((-1, 1))


def batch_shingles(words: list[list[bytes]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """`word_shingles` of many documents' UTF-8 words: all shingles concatenated, and each one's count."""
    lengths = np.fromiter(map(len, words), np.int64, len(words))
    counts = np.maximum(lengths - (n - 1), 0)
    total = int(lengths.sum()) - n + 1
    if not counts.any():
        return np.zeros(0, dtype=np.uint64), counts
    flat = itertools.chain.from_iterable(words)
    hashes = np.fromiter(map(xxhash.xxh64_intdigest, flat), np.uint64, int(lengths.sum()))
    doc = np.repeat(np.arange(len(words)), lengths)[:total]
    local = np.arange(total) - (np.cumsum(lengths) - lengths)[doc]
    return _combine(hashes, n, total)[local < counts[doc]], counts  # drop n-grams that run into the next document


def min_hashes(shingles: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray, mask: int) -> np.ndarray:
    """Per document (row), datatrove's MinHash values `min((shingle * a + b) mod PRIME) & mask` (uint64).

    `shingles` holds each document's shingles in turn (`counts` of them); rows without any stay all ones.
    Blocks are (hashes x shingles), so that each document's minimum is a contiguous reduction."""
    width = a.size
    out = np.full((len(counts), width), np.iinfo(np.uint64).max, dtype=np.uint64)
    rows = np.flatnonzero(counts)
    starts = (np.cumsum(counts) - counts)[rows]
    a, b = a.reshape(-1, 1), b.reshape(-1, 1)
    block = np.empty((width, _BLOCK_COLUMNS), dtype=np.uint64)
    high = np.empty_like(block)
    for begin in range(0, len(shingles), _BLOCK_COLUMNS):
        part = shingles[None, begin : begin + _BLOCK_COLUMNS]
        x, top = block[:, : part.size], high[:, : part.size]
        np.multiply(part, a, out=x)  # wraps modulo 2**64, as datatrove's numpy expression does
        x += b
        # x mod (2**61 - 1) = low 61 bits + high 3 bits, less PRIME once if that reaches PRIME
        np.right_shift(x, np.uint64(61), out=top)
        x &= PRIME
        x += top
        if mask != np.iinfo(np.uint64).max or x.max() >= PRIME:
            np.subtract(x, PRIME, out=top)  # wraps to a larger value unless x >= PRIME
            np.minimum(x, top, out=x)
            x &= np.uint64(mask)
        first = np.searchsorted(starts, begin, side="right") - 1  # the document holding this block's first shingle
        last = np.searchsorted(starts, begin + part.size, side="left")
        bounds = starts[first:last] - begin
        bounds[0] = 0
        docs = rows[first:last]
        out[docs] = np.minimum(out[docs], np.minimum.reduceat(x, bounds, axis=1).T)
    return out
