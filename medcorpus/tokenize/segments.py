"""SentencePiece BPE encoding word by word, each distinct word encoded once.

SentencePiece's BPE encoder merges symbol pairs over the whole normalised text ("▁" for each space, one more
in front). For a model whose merges can never cross the start of a whitespace run, the text splits into
segments (a run of "▁" and the characters up to the next one) that are encoded independently: BPE's merges
inside one segment happen in the same order whatever is beside it, and no merge joins two of them. That holds
when (checked on the model file, `segmentable`): the model is BPE with the identity normaliser, a dummy prefix,
escaped and kept (not collapsed) whitespace, no user-defined pieces, and no piece holds "▁" after another
character. The shipped Mistral-7B model is one; any other model is checked when loaded.

`SegmentEncoder` keeps each distinct segment's ids (bounded: forgotten all at once past `CACHE_LIMIT` segments)
and builds a batch's ids with numpy, so a word of natural text is encoded about once per task instead of once
per occurrence. `tests/tokenize/test_segments.py` checks it against SentencePiece's own `encode` on real
corpora and edge cases.
"""

from __future__ import annotations

import re
from itertools import chain, repeat

import numpy as np

SPACE = "\u2581"  # SentencePiece's whitespace symbol
SEGMENT = re.compile(f"{SPACE}+[^{SPACE}]*|[^{SPACE}]+")
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
    """Token ids of texts as a segmentable SentencePiece model (`processor`) gives them, segment by segment."""

    def __init__(self, processor) -> None:
        self.processor = processor
        self.space_id = processor.piece_to_id(SPACE)
        self._clear()

    def _clear(self) -> None:
        self.index: dict[str, int] = {}  # segment -> its number
        self.starts = np.zeros(0, dtype=np.int64)  # where each numbered segment's ids are in `store`
        self.lengths = np.zeros(0, dtype=np.int64)
        self.store = np.zeros(0, dtype=np.int32)  # (the three grow by doubling; `stored` ids are in use)
        self.stored = 0

    def _encode_segments(self, segments: list[str]) -> list[list[int]]:
        """SentencePiece's ids of segments on their own: a segment of k spaces and a word is the text of k - 1
        spaces and the word (the dummy prefix is the k-th); one of spaces alone, that run."""
        raw = []
        for segment in segments:
            word = segment.lstrip(SPACE)
            raw.append(" " * (len(segment) - len(word) - 1) + word if word else " " * (len(segment) - 1))
        encoded = self.processor.encode(raw, num_threads=1)
        return [[self.space_id] if not text else ids for text, ids in zip(raw, encoded)]

    def _add(self, segments: list[str]) -> None:
        encoded = self._encode_segments(segments)
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        first, last = len(self.index), len(self.index) + len(segments)
        stored, total = self.stored, int(lengths.sum())
        self.starts, self.lengths = _room(self.starts, first, last), _room(self.lengths, first, last)
        self.store = _room(self.store, stored, stored + total)
        self.starts[first:last] = stored + np.cumsum(lengths) - lengths
        self.lengths[first:last] = lengths
        self.store[stored : stored + total] = np.fromiter(chain.from_iterable(encoded), np.int32, total)
        self.stored += total
        self.index.update(zip(segments, range(first, last)))

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of all texts one after another (int32), and each text's number of ids."""
        per_text = [SEGMENT.findall(SPACE + text.replace(" ", SPACE)) if text else [] for text in texts]
        segments = list(chain.from_iterable(per_text))
        numbers = np.fromiter(map(self.index.get, segments, repeat(-1)), np.int64, len(segments))
        missing = np.flatnonzero(numbers < 0)
        if len(missing):
            new = list(dict.fromkeys(segments[i] for i in missing.tolist()))
            if len(self.index) + len(new) > CACHE_LIMIT:  # forget every kept segment, then keep this batch's
                self._clear()
                new, missing = list(dict.fromkeys(segments)), np.arange(len(segments))
            self._add(new)
            found = map(self.index.__getitem__, (segments[i] for i in missing.tolist()))
            numbers[missing] = np.fromiter(found, np.int64, len(missing))
        lengths = self.lengths[numbers]
        ends = np.concatenate([[0], np.cumsum(lengths)])  # where each segment's ids end in the output (after 0)
        total = int(ends[-1])
        ids = self.store[np.repeat(self.starts[numbers] - ends[:-1], lengths) + np.arange(total)]
        text_ends = ends[np.cumsum(np.fromiter(map(len, per_text), np.int64, len(texts)))]
        return ids, np.diff(text_ends, prepend=0)


def _room(array: np.ndarray, used: int, needed: int) -> np.ndarray:
    """`array` (its first `used` values kept) with room for `needed`: doubled when full, so a task's kept segments
    are copied a few times in all rather than once per batch."""
    if needed <= len(array):
        return array
    grown = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown
