"""Words and word n-gram hashes, as every decontamination match sees text.

Words are runs of letters and digits (`TOKEN`), compared lower-cased (case, punctuation and spacing never
matter). A word's hash is a polynomial over the code points of its lower-cased form, modulo 2**64, mixed with its
length (`word_hash` states it in plain Python); each run of `n` words gets a polynomial hash of its word hashes.
The batch functions compute the same values with numpy over a whole batch of texts at once: an ASCII text is
lower-cased and split into words as bytes (for ASCII, `TOKEN`'s words are the runs of [A-Za-z0-9], and lower-casing
keeps them), any other text through `TOKEN` and `str.lower` word by word, as the definition says
(`tests/curation/decontam/test_words.py` checks both against `word_hash`).
"""

from __future__ import annotations

import re

import numpy as np

TOKEN = re.compile(r"[^\W_]+")
_MASK = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_PRIME = np.uint64(0x100000001B3)  # n-grams: a polynomial of word hashes
_MIX = (0xBF58476D1CE4E5B9, 0x94D049BB133111EB)  # splitmix64's finaliser
_ALNUM = np.array([chr(byte).isalnum() for byte in range(128)] + [False] * 128)
_KEPT = 1 << 20  # powers are kept for chunks of up to this many code points
_SPACE = 32


def word_hash(word: str) -> int:
    """The hash of one word: sum of c[i] * BASE**(L-1-i) over the code points of `word.lower()`, modulo 2**64,
    xor its length L, through splitmix64's finaliser (the definition the batch functions compute)."""
    codes = [ord(char) for char in word.lower()]
    value = 0
    for code in codes:
        value = (value * _BASE + code) & _MASK
    value ^= len(codes)
    value = ((value ^ (value >> 30)) * _MIX[0]) & _MASK
    value = ((value ^ (value >> 27)) * _MIX[1]) & _MASK
    return value ^ (value >> 31)


def _mix(values: np.ndarray) -> np.ndarray:
    values = (values ^ (values >> np.uint64(30))) * np.uint64(_MIX[0])
    values = (values ^ (values >> np.uint64(27))) * np.uint64(_MIX[1])
    return values ^ (values >> np.uint64(31))


def _power_table(base: int, size: int) -> np.ndarray:
    """base**k modulo 2**64 for k < size, by doubling."""
    table = np.ones(max(size, 1), dtype=np.uint64)
    filled = 1
    while filled < size:
        step = min(filled, size - filled)
        table[filled : filled + step] = table[:step] * np.uint64(pow(base, filled, 1 << 64))
        filled += step
    return table


_kept: list[np.ndarray] = [np.ones(0, np.uint64), np.ones(0, np.uint64)]


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(BASE**k, BASE**-k) modulo 2**64 for k < size; kept up to `_KEPT`, made afresh beyond."""
    if size > _KEPT:
        return _power_table(_BASE, size), _power_table(_BASE_INVERSE, size)
    if len(_kept[0]) < size:
        grown = min(max(size, 2 * len(_kept[0]), 1 << 16), _KEPT)
        _kept[:] = [_power_table(_BASE, grown), _power_table(_BASE_INVERSE, grown)]
    return _kept[0][:size], _kept[1][:size]


def _segment_hashes(codes: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`word_hash` of each word of a code point array (`words[i]`: is code point i part of a word; runs of True
    are the words), and where each word starts: prefix sums of c[k] * BASE**-k, so a word [s, e) is
    (P[e] - P[s]) * BASE**(e-1)."""
    edges = np.diff(words.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not len(starts):
        return np.zeros(0, dtype=np.uint64), starts
    up, down = _powers(len(codes))
    prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
    np.cumsum(codes * down, out=prefix[1:])  # wraps modulo 2**64
    values = (prefix[ends] - prefix[starts]) * up[ends - 1]
    return _mix(values ^ (ends - starts).astype(np.uint64)), starts


def _chunks(texts: list[str]) -> list[list[int]]:
    """Indices of `texts` in consecutive groups of at most `_KEPT` characters (a longer text alone)."""
    groups: list[list[int]] = []
    size = _KEPT
    for index, text in enumerate(texts):
        if size + len(text) + 1 > _KEPT:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += len(text) + 1
    return groups


def _ascii_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Word hashes of ASCII texts, all in order, and each text's word count."""
    joined = " ".join(texts).lower().encode("ascii")
    codes = np.frombuffer(joined, dtype=np.uint8)
    hashes, starts = _segment_hashes(codes.astype(np.uint64), _ALNUM[codes])
    ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1) - 1  # the separator after each text
    return hashes, np.diff(np.searchsorted(starts, ends), prepend=0)


def _word_list_hashes(words: list[list[str]]) -> np.ndarray:
    """Word hashes of lists of words (lower-cased one by one), all in order."""
    joined = " ".join(" ".join(word.lower() for word in text_words) for text_words in words if text_words)
    if not joined:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _segment_hashes(codes.astype(np.uint64), codes != _SPACE)[0]


def word_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """`word_hash` of every word of every text, in order, and each text's word count."""
    counts = np.zeros(len(texts), dtype=np.int64)
    pieces: list[np.ndarray] = []
    order: list[int] = []  # the texts in the order their words are in `pieces`
    ascii_ones = [index for index, text in enumerate(texts) if text.isascii()]
    for group in _chunks([texts[index] for index in ascii_ones]):
        indices = [ascii_ones[i] for i in group]
        hashes, counts[indices] = _ascii_hashes([texts[index] for index in indices])
        pieces.append(hashes)
        order += indices
    others = [index for index, text in enumerate(texts) if not text.isascii()]
    if others:
        words = [TOKEN.findall(texts[index]) for index in others]
        counts[others] = np.fromiter(map(len, words), np.int64, len(words))
        pieces.append(_word_list_hashes(words))
        order += others
    hashes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint64)
    if not others:
        return hashes, counts
    placed = np.zeros(len(texts), dtype=np.int64)  # where each text's words are in `hashes`
    placed[order] = np.cumsum(counts[order]) - counts[order]
    gather = np.repeat(placed - (np.cumsum(counts) - counts), counts) + np.arange(len(hashes))
    return hashes[gather], counts


def words_of(text: str) -> list[re.Match]:
    """The words of a text as regex matches (their offsets locate cut passages)."""
    return list(TOKEN.finditer(text))


def normal_words(text: str) -> list[str]:
    """The words of a text, lower-cased: its normal form for exact matching."""
    return TOKEN.findall(text.lower())


def _ngrams(hashes: np.ndarray, counts: np.ndarray, n: int) -> list[np.ndarray]:
    """Each text's n-gram hashes from the word hashes of all texts in order (n-grams never cross two texts)."""
    total = len(hashes) - n + 1
    if total <= 0:
        return [np.zeros(0, dtype=np.uint64) for _ in counts]
    out = np.zeros(total, dtype=np.uint64)
    for j in range(n):
        out = out * _PRIME + hashes[j : j + total]  # wraps modulo 2**64; runs into the next text are cut off
    starts = np.cumsum(counts) - counts
    return [out[start : start + max(count - n + 1, 0)] for start, count in zip(starts.tolist(), counts.tolist())]


def hash_ngrams(words: list[str], n: int) -> np.ndarray:
    """uint64 hashes of every run of `n` consecutive (lower-cased) words, in text order."""
    return _ngrams(_word_list_hashes([words]), np.array([len(words)], dtype=np.int64), n)[0]


def text_ngrams(texts: list[str], n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each text's n-gram hashes (as `hash_ngrams` of its words) and word count, the batch hashed at once."""
    hashes, counts = word_hashes(texts)
    return _ngrams(hashes, counts, n), counts


def ngram_hashes(text: str, n: int) -> set[int]:
    """The distinct n-gram hashes of a text."""
    return {int(h) for h in text_ngrams([text], n)[0][0]}
