"""Numbers for byte strings cut from buffers, given a whole batch at a time with numpy.

A string of up to 7 bytes is its own key (its bytes and length in one integer); a longer one's key is a 64-bit
hash of its bytes, and a string found by such a key is then compared byte for byte with the one numbered, so two
strings that share a key never share a number (the later one gets a number of its own and is not kept for
lookups). Users: the tokenizer's word-by-word encoder (`tokenize/segments.py`) and fastText's token rows
(`curation/language/fasttext_lid.py`), each keeping per number what it computed for that string once.
"""

from __future__ import annotations

import numpy as np


class ByteKeys:
    """Distinct byte strings numbered 0, 1, ... as batches bring them; `number` gives a batch's numbers."""

    def __init__(self) -> None:
        self._powers = np.ones(1, dtype=np.uint64)
        self.clear()

    def clear(self) -> None:
        """Forget every string (numbering starts again from 0)."""
        self.table = _HashTable()  # kept strings' keys -> their numbers
        self.kept = 0  # strings kept for lookups
        self.count = 0  # strings numbered (kept, and unkept ones whose key another holds)
        self.text_starts = np.zeros(0, dtype=np.int64)  # where each numbered string's bytes are in `texts`
        self.text_lengths = np.zeros(0, dtype=np.int64)
        self.texts = np.zeros(0, dtype=np.uint8)  # (these grow by doubling; `text_used` bytes in use)
        self.text_used = 0

    def number(
        self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray, limit: int | None = None
    ) -> tuple[np.ndarray, int]:
        """The number of each string `data[begins[i]:begins[i] + lengths[i]]` (`data` with 8 bytes to spare after
        the last one), and the first new number: strings met for the first time are numbered from there on, in
        the order `strings` gives them. Past `limit` kept strings, every one is forgotten first."""
        first = self.count
        keys = self._keys(data, begins, lengths)
        numbers = self._find(keys, data, begins, lengths)
        missing = np.flatnonzero(numbers < 0)
        if len(missing):
            if limit is not None and self.kept + len(missing) > limit:
                if self.kept + len(np.unique(keys[missing])) > limit:
                    self.clear()
                    first, missing = 0, np.arange(len(keys))
            numbers[missing] = self._add_missing(keys[missing], data, begins[missing], lengths[missing])
        return numbers, first

    def strings(self, first: int) -> list[bytes]:
        """The bytes of the strings numbered from `first` on."""
        starts, lengths = self.text_starts[first : self.count].tolist(), self.text_lengths[first : self.count].tolist()
        texts = self.texts
        return [texts[start : start + length].tobytes() for start, length in zip(starts, lengths)]

    def _keys(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each string's key: a string of up to 7 bytes is its own key (its bytes and length in one integer, so
        strings with the same such key are the same); a longer one's is a 64-bit hash of its bytes and length, 8
        bytes at a time over the first `_WORDS` words and a polynomial over all of the bytes of a still longer one."""
        keys = _word(data, begins, lengths, 0)
        short = lengths < 8
        keys[short] |= lengths[short].astype(np.uint64) << np.uint64(56)
        active = np.flatnonzero(~short)
        keys[active] = _mix(keys[active] ^ lengths[active].astype(np.uint64) * _MIX)
        for word in range(1, _WORDS):
            active = active[lengths[active] > 8 * word]
            if not len(active):
                break
            keys[active] = _mix(keys[active] ^ _word(data, begins[active], lengths[active], word))
        longer = np.flatnonzero(lengths > 8 * _WORDS)
        if len(longer):
            keys[longer] = _mix(keys[longer] ^ self._polynomial(data, begins[longer], lengths[longer]))
        return keys

    def _polynomial(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The sum of each string's bytes times `_BASE` to the power of their place (modulo 2^64)."""
        longest = int(lengths.max())
        if len(self._powers) < longest:
            steps = np.full(max(longest, 2 * len(self._powers)) - 1, _BASE, dtype=np.uint64)
            self._powers = np.concatenate([np.ones(1, dtype=np.uint64), np.cumprod(steps)])  # _BASE ** place
        offsets = np.cumsum(lengths) - lengths
        within = np.arange(int(lengths.sum())) - np.repeat(offsets, lengths)  # each byte's place in its string
        terms = data[np.repeat(begins, lengths) + within].astype(np.uint64) * self._powers[within]
        return np.add.reduceat(terms, offsets)

    def _find(self, keys: np.ndarray, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The number of each string that is kept (same key and same bytes), else -1."""
        numbers = np.full(len(keys), -1, dtype=np.int64)
        if not self.kept or not len(keys):
            return numbers
        candidates = self.table.get(keys)
        found = np.flatnonzero(candidates >= 0)
        candidates = candidates[found]
        same = self._same_bytes(data, begins[found], lengths[found], candidates)
        numbers[found[same]] = candidates[same]
        unkept = found[~same]  # a kept string's key, other bytes: numbered on its own
        if len(unkept):
            numbers[unkept] = self._add(data, begins[unkept], lengths[unkept])
        return numbers

    def _same_bytes(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Whether each string's bytes are those of the numbered one, whose key is the string's: the same length
        then settles it for a string of up to 7 bytes; a longer one is compared 8 bytes at a time."""
        same = self.text_lengths[numbers] == lengths
        kept_begins = self.text_starts[numbers]
        active = np.flatnonzero(same)
        active = active[lengths[active] >= 8]
        word = 0
        while len(active := active[lengths[active] > 8 * word]):
            if word == _WORDS:  # a long string: the rest byte by byte
                sizes = lengths[active] - 8 * word
                offsets = np.cumsum(sizes) - sizes
                within = np.arange(int(sizes.sum())) - np.repeat(offsets, sizes) + 8 * word
                ours = data[np.repeat(begins[active], sizes) + within]
                kept = self.texts[np.repeat(kept_begins[active], sizes) + within]
                same[active] = np.add.reduceat((ours != kept).astype(np.int64), offsets) == 0
                break
            ours = _word(data, begins[active], lengths[active], word)
            equal = ours == _word(self.texts, kept_begins[active], lengths[active], word)
            same[active[~equal]] = False
            active, word = active[equal], word + 1
        return same

    def _add_missing(self, keys: np.ndarray, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Numbers for strings not kept: each distinct key's first string is numbered and kept, and any other
        string with that key and other bytes is numbered on its own."""
        distinct, first, which = np.unique(keys, return_index=True, return_inverse=True)
        numbered = self._add(data, begins[first], lengths[first])
        self.table.add(distinct, numbered)
        self.kept += len(distinct)
        numbers = numbered[which.reshape(-1)]
        other = np.flatnonzero(~self._same_bytes(data, begins, lengths, numbers))
        if len(other):
            numbers[other] = self._add(data, begins[other], lengths[other])
        return numbers

    def _add(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Number strings (keeping their bytes) after the last."""
        first, last = self.count, self.count + len(begins)
        used, size = self.text_used, int(lengths.sum())
        self.text_starts = room(self.text_starts, first, last)
        self.text_lengths = room(self.text_lengths, first, last)
        self.texts = room(self.texts, used, used + size + 8)  # (8 bytes to spare: `_word` reads whole words)
        offsets = np.cumsum(lengths) - lengths
        self.text_starts[first:last] = used + offsets
        self.text_lengths[first:last] = lengths
        self.texts[used : used + size] = data[
            np.repeat(begins, lengths) + np.arange(size) - np.repeat(offsets, lengths)
        ]
        self.text_used += size
        self.count = last
        return np.arange(first, last)


def padded_bytes(array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of a pyarrow `large_string` or `large_binary` array, with the 8 spare bytes `ByteKeys.number` reads
    past the last string, and where each value starts (and the last ends) in them."""
    offsets = np.frombuffer(array.buffers()[1], np.int64, len(array) + 1)
    size = int(offsets[-1])
    data = np.zeros(size + 8, dtype=np.uint8)
    if size:
        data[:size] = np.frombuffer(array.buffers()[2], np.uint8, size)
    return data, offsets


class _HashTable:
    """64-bit keys -> numbers, looked up and added a whole array at a time (open addressing, linear probing,
    the slot taken from the top bits of the key mixed; at most half full)."""

    def __init__(self, bits: int = 16) -> None:
        self.bits = bits
        self.hashes = np.zeros(1 << bits, dtype=np.uint64)
        self.numbers = np.full(1 << bits, -1, dtype=np.int64)  # -1: a free slot
        self.used = 0

    def _slots(self, hashes: np.ndarray) -> np.ndarray:
        return (_mix(hashes) >> np.uint64(64 - self.bits)).astype(np.int64)

    def get(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's number, -1 for one not held."""
        found = np.full(len(hashes), -1, dtype=np.int64)
        slots, todo, mask = self._slots(hashes), np.arange(len(hashes)), len(self.numbers) - 1
        while len(todo):
            numbers = self.numbers[slots]
            hit = (numbers >= 0) & (self.hashes[slots] == hashes[todo])
            found[todo[hit]] = numbers[hit]
            going = (numbers >= 0) & ~hit  # a slot held by another hash: try the next one
            todo, slots = todo[going], (slots[going] + 1) & mask
        return found

    def add(self, hashes: np.ndarray, numbers: np.ndarray) -> None:
        """Hold distinct hashes, none held yet."""
        if 2 * (self.used + len(hashes)) > len(self.numbers):
            held = np.flatnonzero(self.numbers >= 0)
            old_hashes, old_numbers = self.hashes[held], self.numbers[held]
            while 2 * (self.used + len(hashes)) > (1 << self.bits):
                self.bits += 1
            self.__init__(self.bits)
            self.add(old_hashes, old_numbers)
        slots, todo, mask = self._slots(hashes), np.arange(len(hashes)), len(self.numbers) - 1
        while len(todo):
            free = self.numbers[slots] < 0
            # of the hashes meeting at a free slot, the first takes it; the rest (and those at held slots) move on
            order = np.flatnonzero(free)
            _, first = np.unique(slots[order], return_index=True)
            taking = order[first]
            self.hashes[slots[taking]], self.numbers[slots[taking]] = hashes[todo[taking]], numbers[todo[taking]]
            going = np.ones(len(todo), dtype=bool)
            going[taking] = False
            todo, slots = todo[going], (slots[going] + 1) & mask
        self.used += len(hashes)


_WORDS = 8  # strings are hashed and compared 8 bytes at a time up to this many words, the rest byte by byte
_MASKS = np.array([(1 << (8 * size)) - 1 for size in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _word(buffer: np.ndarray, begins: np.ndarray, lengths: np.ndarray, word: int) -> np.ndarray:
    """Each string's `word`-th 8 bytes as one integer (little-endian), the bytes past its end zeroed; `buffer`
    has 8 bytes to spare after the last string."""
    windows = np.ndarray(shape=(max(len(buffer) - 7, 0),), dtype=np.uint64, buffer=buffer, strides=(1,))
    words = windows[begins + 8 * word]  # (unaligned reads)
    return words & _MASKS[np.minimum(lengths - 8 * word, 8)]


_BASE = np.uint64(0x100000001B3)  # the hash's multiplier (FNV's 64-bit prime) and length mix (2^64 / golden ratio)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: every input bit moves every output bit (the table slots use the top bits)."""
    values = values ^ (values >> np.uint64(33))
    values *= np.uint64(0xFF51AFD7ED558CCD)
    values ^= values >> np.uint64(33)
    values *= np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def room(array: np.ndarray, used: int, needed: int) -> np.ndarray:
    """`array` (its first `used` values kept) with room for `needed`: doubled when full, so a task's kept strings
    are copied a few times in all rather than once per batch."""
    if needed <= len(array):
        return array
    grown = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
