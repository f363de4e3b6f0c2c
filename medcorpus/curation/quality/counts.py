"""Per-document word and line counts for a batch of texts, computed with numpy on their UTF-8 bytes.

The texts are joined with "\\n" into one byte array. Words are the runs of bytes outside whitespace (every
character for which `str.isspace` holds), i.e. the words of `str.split`; lines are the "\\n"-separated
parts, stripped. A word's length in characters is its count of bytes that are not UTF-8 continuation
bytes. Equal words (and lines) are found by a 64-bit polynomial hash of their bytes: two different words
with the same hash would count as one word, which natural text does not hit but crafted strings could.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

NON_ALPHA_WORD = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")  # a word without a letter
STOP_WORD = re.compile(r"(?<!\S)[.,;:]*(?i:the|be|to|of|and|that|have|with|is|in|for|was)[.,;:]*(?!\S)")
SPACES = "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
BULLETS = ("•", "-", "*", "–", "·", "▪", "○", "●", "■", "◦", "‣", "⁃", "»", "›")
TERMINALS = (".", "!", "?", '"', "'", ":", ")", "”", "’", ";")
ELLIPSES = ("...", "…")

_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_TABLE = np.zeros(256, np.uint8)  # byte classes: 1 ASCII whitespace, 2 ASCII letter, 4 in [.,;:] or non-ASCII
_TABLE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = 1
_TABLE[[*range(65, 91), *range(97, 123)]] = 2
_TABLE[[*b".,;:", *range(128, 256)]] = 4
_WEIGHTS = np.where(_TABLE == 2, 1, np.where(_TABLE == 4, 1 << 32, 0))  # counts ASCII letters, and the class 4 above
_CACHED = 1 << 22  # powers are kept for batches of up to this many bytes
_powers = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _powers_of(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(_BASE**i, _BASE**-i) modulo 2**64 for i < n."""
    if len(_powers[0]) < n:
        size = n if n > _CACHED else min(max(n, 2 * len(_powers[0])), _CACHED)
        made = tuple(
            np.concatenate((np.ones(1, np.uint64), np.cumprod(np.full(size - 1, base, np.uint64))))
            for base in (_BASE, pow(_BASE, -1, 1 << 64))
        )
        if size > _CACHED:
            return made
        globals()["_powers"] = made
    return _powers[0][:n], _powers[1][:n]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices of the ranges [start, start + length), concatenated."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def _char_mask(buf: np.ndarray, starts: np.ndarray, chars: tuple[str, ...], end: bool = False) -> np.ndarray:
    """Whether the character starting at each of `starts` (ending before it, with `end`) is one of `chars`."""
    if end:
        tail = (buf[starts - 1] & 0xC0) == 0x80
        size = 1 + tail + (tail & ((buf[starts - 2] & 0xC0) == 0x80))
        size += (size == 3) & ((buf[starts - 3] & 0xC0) == 0x80)
        starts = starts - size
    else:
        size = 1 + (buf[starts] >= 0xC0) + (buf[starts] >= 0xE0) + (buf[starts] >= 0xF0)
    code = np.zeros(len(starts), np.int64)
    for k in range(4):
        code = np.where(size > k, (code << 8) | buf[np.minimum(starts + k, len(buf) - 1)], code)
    wanted = [int.from_bytes(char.encode()) for char in chars]
    return np.isin(code, wanted)


@dataclass
class Batch:
    """A batch's bytes, with prefix sums for hashes and character counts of byte ranges, and its words."""

    buf: np.ndarray
    inverse: np.ndarray  # _BASE**-i for each position i
    prefix: np.ndarray  # polynomial hash sums of the bytes before each position
    chars: np.ndarray  # characters before each position
    starts: np.ndarray
    ends: np.ndarray
    doc: np.ndarray  # the document of each word
    bounds: np.ndarray  # the first word of each document, and the end (length documents + 1)

    def hashes(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The hashes of the byte ranges [starts, ends)."""
        return (self.prefix[ends] - self.prefix[starts]) * self.inverse[starts]


def read_batch(texts: list[str]) -> Batch:
    """The words of `texts` (joined with "\\n", with a "\\n" before the first and after the last)."""
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    buf = np.frombuffer(b"\n" + b"\n".join(encoded) + b"\n\n\n", np.uint8)
    doc_ends = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)) + 1)
    space = _space_mask(buf)
    edges = np.flatnonzero(space[1:] != space[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    powers, inverse = _powers_of(len(buf))
    weights = (buf.astype(np.uint64) + np.uint64(1)) * powers
    prefix = np.concatenate((np.zeros(1, np.uint64), np.cumsum(weights, dtype=np.uint64)))
    chars = np.concatenate(([0], np.cumsum((buf & 0xC0) != 0x80)))
    bounds = np.concatenate(([0], np.searchsorted(starts, doc_ends)))
    doc = np.repeat(np.arange(len(texts)), np.diff(bounds))
    return Batch(buf, inverse, prefix, chars, starts, ends, doc, bounds)


def _space_mask(buf: np.ndarray) -> np.ndarray:
    """Whether each byte belongs to a whitespace character."""
    space = _TABLE[buf] == 1
    leads = np.flatnonzero(np.isin(buf[:-2], list({char.encode()[0] for char in SPACES})))
    for char in SPACES:
        code = char.encode()
        found = leads[np.all([buf[leads + k] == byte for k, byte in enumerate(code)], axis=0)]
        for k in range(len(code)):
            space[found + k] = True
    return space


def word_classes(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ids of the words (equal words, equal ids), and whether each word has no letter and is a stop
    word; the regular expressions only see each distinct word that might match, once."""
    hashes = batch.hashes(batch.starts, batch.ends)
    order = np.argsort(hashes, kind="stable")
    hashes = hashes[order]
    new = np.ones(len(hashes), bool)
    new[1:] = hashes[1:] != hashes[:-1]
    ids = np.empty(len(hashes), np.int64)
    ids[order] = np.cumsum(new) - 1
    starts, ends = batch.starts[order[new]], batch.ends[order[new]]  # the first copy of each distinct word
    classes = np.concatenate(([0], np.cumsum(_WEIGHTS[batch.buf])))
    counts = classes[ends] - classes[starts]
    n_letters, n_others = counts & 0xFFFFFFFF, counts >> 32
    maybe_stop = (n_letters <= 4) & (n_letters + n_others == ends - starts) & (ends - starts >= 2)
    non_alpha = _matches(batch.buf, starts, ends, n_letters == 0, NON_ALPHA_WORD)
    stop = _matches(batch.buf, starts, ends, maybe_stop, STOP_WORD)
    return ids, non_alpha[ids], stop[ids]


def _matches(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, maybe: np.ndarray, pattern: re.Pattern
) -> np.ndarray:
    """Whether each word (where `maybe` holds; elsewhere False) is a whole match of `pattern`."""
    found = np.zeros(len(starts), bool)
    candidates = np.flatnonzero(maybe)
    if len(candidates):
        lengths = ends[candidates] - starts[candidates]
        joined = np.full(int(lengths.sum()) + len(candidates), 10, np.uint8)
        joined[_ranges(np.cumsum(lengths + 1) - lengths - 1, lengths)] = buf[_ranges(starts[candidates], lengths)]
        text = joined.tobytes().decode("utf-8", "surrogatepass")
        left = np.frombuffer(pattern.sub("", text).encode("utf-8", "surrogatepass"), np.uint8)
        found[candidates] = np.diff(np.flatnonzero(left == 10), prepend=-1) == 1
    return found


def line_counts(batch: Batch, n_docs: int) -> dict[str, np.ndarray]:
    """Per-document counts over non-empty stripped lines: lines, their characters, bullet, ellipsis and
    punctuated lines, and duplicated lines (each after its first copy) and their characters."""
    line = np.searchsorted(np.flatnonzero(batch.buf == 10), batch.starts)
    first = np.flatnonzero(np.diff(line, prepend=-1))
    last = np.append(first[1:], len(line))[: len(first)] - 1
    starts, ends, doc = batch.starts[first], batch.ends[last], batch.doc[first]
    chars = batch.chars[ends] - batch.chars[starts]
    hashes = batch.hashes(starts, ends)
    order = np.lexsort((hashes, doc))
    hashes = hashes[order]
    repeated = np.zeros(len(order), bool)
    repeated[order[1:]] = (hashes[1:] == hashes[:-1]) & (doc[order][1:] == doc[order][:-1])
    buf = batch.buf
    dots = (ends - starts >= 3) & (buf[ends - 1] == 46) & (buf[ends - 2] == 46) & (buf[ends - 3] == 46)
    return {
        "lines": np.bincount(doc, None, n_docs),
        "line_chars": np.bincount(doc, chars, n_docs),
        "bullet": np.bincount(doc, _char_mask(buf, starts, BULLETS), n_docs),
        "ellipsis": np.bincount(doc, dots | _char_mask(buf, ends, ("…",), end=True), n_docs),
        "punctuated": np.bincount(doc, _char_mask(buf, ends, TERMINALS, end=True), n_docs),
        "duplicate": np.bincount(doc, repeated, n_docs),
        "duplicate_chars": np.bincount(doc, chars * repeated, n_docs),
    }
