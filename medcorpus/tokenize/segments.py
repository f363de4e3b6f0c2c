"""SentencePiece BPE encoding word by word, each distinct word encoded once.

SentencePiece's BPE encoder merges symbol pairs over the whole normalised text ("▁" for each space, one more
in front). For a model whose merges can never cross the start of a whitespace run, the text splits into
segments (a run of "▁" and the characters up to the next one) that are encoded independently: BPE's merges
inside one segment happen in the same order whatever is beside it, and no merge joins two of them. That holds
when (checked on the model file, `segmentable`): the model is BPE with the identity normaliser, a dummy prefix,
escaped and kept (not collapsed) whitespace, no user-defined pieces, and no piece holds "▁" after another
character. The shipped Mistral-7B model is one; any other model is checked when loaded.

`SegmentEncoder` keeps each distinct segment's ids (bounded: forgotten all at once past `CACHE_LIMIT` segments),
so a word of natural text is encoded about once per task instead of once per occurrence. A batch is cut into
segments, looked up and assembled with numpy on its UTF-8 bytes, without a Python string per word: a segment is
found by a 64-bit hash and then compared byte for byte, so two segments that share a hash never share ids.
`tests/tokenize/test_segments.py` checks it against SentencePiece's own `encode` on real corpora and edge
cases, with a hash made to collide as well.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

SPACE = "\u2581"  # SentencePiece's whitespace symbol
CACHE_LIMIT = 1 << 20  # distinct segments kept (~150 MB at most: the dict, their ids, offsets)
_BPE, _USER_DEFINED = 2, 4  # ModelProto's TrainerSpec.model_type and SentencePiece.type values


def segmentable(serialized_model: bytes) -> bool:
    """Whether a SentencePiece model's encoding splits into independent whitespace segments (module docstring)."""
    from sentencepiece import sentencepiece_model_pb2

    model = sentencepiece_model_pb2.ModelProto()
    model.ParseFromString(serialized_model)
    normalizer = model.normalizer_spec
    return (
        model.trainer_spec.model_type == _BPE
        and normalizer.name == "identity"
        and not normalizer.precompiled_charsmap
        and normalizer.add_dummy_prefix
        and normalizer.escape_whitespaces
        and not normalizer.remove_extra_whitespaces
        and not model.trainer_spec.treat_whitespace_as_suffix
        and all(piece.type != _USER_DEFINED for piece in model.pieces)
        and not any(SPACE in piece.piece.lstrip(SPACE) for piece in model.pieces)
    )


class SegmentEncoder:
    """Token ids of texts as a segmentable SentencePiece model (`processor`) gives them, segment by segment.

    Segments are cut from the UTF-8 bytes of a batch's texts, each with a space in front for the dummy prefix and
    "▁" read as the space it stands for. A segment whose hash a kept segment holds but whose bytes differ is
    encoded on its own and not kept."""

    def __init__(self, processor) -> None:
        self.processor = processor
        self.space_id = processor.piece_to_id(SPACE)
        self._powers = np.ones(1, dtype=np.uint64)
        self._clear()

    def _clear(self) -> None:
        self.table = _HashTable()  # kept segments' hashes -> their numbers
        self.kept = 0  # segments kept
        self.count = 0  # numbered segments (kept, and unkept ones whose hash another holds)
        self.starts = np.zeros(0, dtype=np.int64)  # where each numbered segment's ids are in `store`
        self.lengths = np.zeros(0, dtype=np.int64)
        self.store = np.zeros(0, dtype=np.int32)
        self.stored = 0
        self.text_starts = np.zeros(0, dtype=np.int64)  # where its bytes are in `texts`
        self.text_lengths = np.zeros(0, dtype=np.int64)
        self.texts = np.zeros(0, dtype=np.uint8)  # (these grow by doubling; `stored` ids, `text_used` bytes in use)
        self.text_used = 0

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of all texts one after another (int32), and each text's number of ids."""
        data, begins, lengths, per_text = _segments(texts)
        hashes = self._hash(data, begins, lengths)
        numbers = self._find(hashes, data, begins, lengths)
        missing = np.flatnonzero(numbers < 0)
        if len(missing):
            limit = CACHE_LIMIT
            if self.kept + len(missing) > limit and self.kept + len(np.unique(hashes[missing])) > limit:
                # forget every kept segment, then keep this batch's
                self._clear()
                missing = np.arange(len(hashes))
            numbers[missing] = self._add_missing(hashes[missing], data, begins[missing], lengths[missing])
        id_lengths = self.lengths[numbers]
        ends = np.concatenate([[0], np.cumsum(id_lengths)])  # where each segment's ids end in the output (after 0)
        total = int(ends[-1])
        ids = self.store[np.repeat(self.starts[numbers] - ends[:-1], id_lengths) + np.arange(total)]
        return ids, np.diff(ends[np.cumsum(per_text)], prepend=0)

    def _hash(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Each segment's key: a segment of up to 7 bytes is its own key (its bytes and length in one integer, so
        segments with the same such key are the same); a longer one's is a 64-bit hash of its bytes and length, 8
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
        """The sum of each segment's bytes times `_BASE` to the power of their place (modulo 2^64)."""
        longest = int(lengths.max())
        if len(self._powers) < longest:
            steps = np.full(max(longest, 2 * len(self._powers)) - 1, _BASE, dtype=np.uint64)
            self._powers = np.concatenate([np.ones(1, dtype=np.uint64), np.cumprod(steps)])  # _BASE ** place
        offsets = np.cumsum(lengths) - lengths
        within = np.arange(int(lengths.sum())) - np.repeat(offsets, lengths)  # each byte's place in its segment
        terms = data[np.repeat(begins, lengths) + within].astype(np.uint64) * self._powers[within]
        return np.add.reduceat(terms, offsets)

    def _find(self, hashes: np.ndarray, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The number of each segment that is kept (same hash and same bytes), else -1."""
        numbers = np.full(len(hashes), -1, dtype=np.int64)
        if not self.kept or not len(hashes):
            return numbers
        candidates = self.table.get(hashes)
        found = np.flatnonzero(candidates >= 0)
        candidates = candidates[found]
        same = self._same_bytes(data, begins[found], lengths[found], candidates)
        numbers[found[same]] = candidates[same]
        unkept = found[~same]  # a kept segment's hash, other bytes: encoded on its own
        if len(unkept):
            numbers[unkept] = self._number(data, begins[unkept], lengths[unkept])
        return numbers

    def _same_bytes(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """Whether each segment's bytes are those of the numbered one, whose key is the segment's: the same length
        then settles it for a segment of up to 7 bytes; a longer one is compared 8 bytes at a time."""
        same = self.text_lengths[numbers] == lengths
        kept_begins = self.text_starts[numbers]
        active = np.flatnonzero(same)
        active = active[lengths[active] >= 8]
        word = 0
        while len(active := active[lengths[active] > 8 * word]):
            if word == _WORDS:  # a long segment: the rest byte by byte
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

    def _add_missing(self, hashes: np.ndarray, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Numbers for segments not kept: each distinct hash's first segment is encoded and kept, and any other
        segment with that hash and other bytes is encoded on its own."""
        distinct, first, which = np.unique(hashes, return_index=True, return_inverse=True)
        numbered = self._number(data, begins[first], lengths[first])
        self.table.add(distinct, numbered)
        self.kept += len(distinct)
        numbers = numbered[which.reshape(-1)]
        other = np.flatnonzero(~self._same_bytes(data, begins, lengths, numbers))
        if len(other):
            numbers[other] = self._number(data, begins[other], lengths[other])
        return numbers

    def _number(self, data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Encode segments (given by their bytes) with SentencePiece and number them."""
        segments = [data[b : b + n].tobytes().decode() for b, n in zip(begins.tolist(), lengths.tolist())]
        encoded = self._encode_segments(segments)
        first, last = self.count, self.count + len(segments)
        sizes = np.fromiter(map(len, encoded), np.int64, len(encoded))
        stored, total = self.stored, int(sizes.sum())
        self.starts, self.lengths = _room(self.starts, first, last), _room(self.lengths, first, last)
        self.store = _room(self.store, stored, stored + total)
        self.starts[first:last] = stored + np.cumsum(sizes) - sizes
        self.lengths[first:last] = sizes
        self.store[stored : stored + total] = np.fromiter(chain.from_iterable(encoded), np.int32, total)
        self.stored += total
        used, size = self.text_used, int(lengths.sum())
        self.text_starts, self.text_lengths = (
            _room(self.text_starts, first, last),
            _room(self.text_lengths, first, last),
        )
        self.texts = _room(self.texts, used, used + size + 8)  # (8 bytes to spare: `_word` reads whole words)
        offsets = np.cumsum(lengths) - lengths
        self.text_starts[first:last] = used + offsets
        self.text_lengths[first:last] = lengths
        self.texts[used : used + size] = data[
            np.repeat(begins, lengths) + np.arange(size) - np.repeat(offsets, lengths)
        ]
        self.text_used += size
        self.count = last
        return np.arange(first, last)

    def _encode_segments(self, segments: list[str]) -> list[list[int]]:
        """SentencePiece's ids of segments on their own (each a run of spaces, then any other characters): one of
        k spaces and a word is the text of k - 1 spaces and the word (the dummy prefix is the k-th); one of
        spaces alone, that run."""
        raw = [segment[1:] for segment in segments]
        encoded = self.processor.encode(raw, num_threads=1)
        return [[self.space_id] if not text else ids for text, ids in zip(raw, encoded)]


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


_WORDS = 8  # segments are hashed and compared 8 bytes at a time up to this many words, the rest byte by byte
_MASKS = np.array([(1 << (8 * size)) - 1 for size in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _word(buffer: np.ndarray, begins: np.ndarray, lengths: np.ndarray, word: int) -> np.ndarray:
    """Each segment's `word`-th 8 bytes as one integer (little-endian), the bytes past its end zeroed; `buffer`
    has 8 bytes to spare after the last segment."""
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


def _segments(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of the texts, each with a space in front and "▁" as a space, and where each segment (a run
    of spaces and the other characters up to the next run) begins, its length in bytes, and each text's number
    of segments. An empty text has none."""
    import pyarrow as pa

    spaced = [(" " + text.replace(SPACE, " ") if SPACE in text else " " + text) if text else "" for text in texts]
    array = pa.array(spaced, pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], np.int64, len(spaced) + 1)
    size = int(offsets[-1])
    data = np.zeros(size + 8, dtype=np.uint8)  # (8 bytes to spare: `_word` reads whole words)
    if size:
        data[:size] = np.frombuffer(array.buffers()[2], np.uint8, size)
    space = data[:size] == 32
    begins = space.copy()
    begins[1:] &= ~space[:-1]
    starts = offsets[:-1][offsets[:-1] < offsets[1:]]  # each non-empty text begins a segment
    begins[starts] = True
    begins = np.flatnonzero(begins)
    text_of = np.searchsorted(offsets, begins, side="right") - 1
    ends = np.minimum(np.append(begins[1:], size), offsets[1:][text_of])
    return data, begins, ends - begins, np.bincount(text_of, minlength=len(texts))


def _room(array: np.ndarray, used: int, needed: int) -> np.ndarray:
    """`array` (its first `used` values kept) with room for `needed`: doubled when full, so a task's kept segments
    are copied a few times in all rather than once per batch."""
    if needed <= len(array):
        return array
    grown = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
