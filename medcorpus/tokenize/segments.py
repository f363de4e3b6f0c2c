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
segments, numbered (`bytekeys.py`: looked up by key, checked byte for byte) and assembled with numpy on its UTF-8
bytes, without a Python string per word.
`tests/tokenize/test_segments.py` checks it against SentencePiece's own `encode` on real corpora and edge
cases, with a hash made to collide as well.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain

import numpy as np

from medcorpus.bytekeys import ByteKeys, padded_bytes, room

SPACE = "\u2581"  # SentencePiece's whitespace symbol
CACHE_LIMIT = 1 << 20  # distinct segments kept (~150 MB at most: the dict, their ids, offsets)
_BPE, _USER_DEFINED = 2, 4  # ModelProto's TrainerSpec.model_type and SentencePiece.type values


@lru_cache(maxsize=4)  # (checking a model's 32k pieces takes 25 ms; each stage counter's tokenizer asks)
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
    "▁" read as the space it stands for, and numbered by `ByteKeys`; each new one is encoded once."""

    def __init__(self, processor) -> None:
        self.processor = processor
        self.space_id = processor.piece_to_id(SPACE)
        self.keys = ByteKeys()
        self._clear_ids()

    def _clear_ids(self) -> None:
        self.starts = np.zeros(0, dtype=np.int64)  # where each numbered segment's ids are in `store`
        self.lengths = np.zeros(0, dtype=np.int64)
        self.store = np.zeros(0, dtype=np.int32)  # (these grow by doubling; `stored` ids in use)
        self.stored = 0

    @property
    def kept(self) -> int:
        """Segments kept."""
        return self.keys.kept

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of all texts one after another (int32), and each text's number of ids."""
        data, begins, lengths, per_text = _segments(texts)
        numbers, first = self.keys.number(data, begins, lengths, limit=CACHE_LIMIT)
        if first < self.keys.count:
            if first == 0:  # the kept segments were forgotten: their ids too
                self._clear_ids()
            self._encode_new(first)
        id_lengths = self.lengths[numbers]
        ends = np.concatenate([[0], np.cumsum(id_lengths)])  # where each segment's ids end in the output (after 0)
        total = int(ends[-1])
        ids = self.store[np.repeat(self.starts[numbers] - ends[:-1], id_lengths) + np.arange(total)]
        return ids, np.diff(ends[np.cumsum(per_text)], prepend=0)

    def _encode_new(self, first: int) -> None:
        """Encode the segments numbered from `first` on with SentencePiece, and keep their ids."""
        encoded = self._encode_segments([segment.decode() for segment in self.keys.strings(first)])
        last = self.keys.count
        sizes = np.fromiter(map(len, encoded), np.int64, len(encoded))
        stored, total = self.stored, int(sizes.sum())
        self.starts, self.lengths = room(self.starts, first, last), room(self.lengths, first, last)
        self.store = room(self.store, stored, stored + total)
        self.starts[first:last] = stored + np.cumsum(sizes) - sizes
        self.lengths[first:last] = sizes
        self.store[stored : stored + total] = np.fromiter(chain.from_iterable(encoded), np.int32, total)
        self.stored += total

    def _encode_segments(self, segments: list[str]) -> list[list[int]]:
        """SentencePiece's ids of segments on their own (each a run of spaces, then any other characters): one of
        k spaces and a word is the text of k - 1 spaces and the word (the dummy prefix is the k-th); one of
        spaces alone, that run."""
        raw = [segment[1:] for segment in segments]
        encoded = self.processor.encode(raw, num_threads=1)
        return [[self.space_id] if not text else ids for text, ids in zip(raw, encoded)]


def _segments(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of the texts, each with a space in front and "▁" as a space, and where each segment (a run
    of spaces and the other characters up to the next run) begins, its length in bytes, and each text's number
    of segments. An empty text has none."""
    import pyarrow as pa

    spaced = [(" " + text.replace(SPACE, " ") if SPACE in text else " " + text) if text else "" for text in texts]
    data, offsets = padded_bytes(pa.array(spaced, pa.large_string()))
    size = len(data) - 8
    space = data[:size] == 32
    begins = space.copy()
    begins[1:] &= ~space[:-1]
    starts = offsets[:-1][offsets[:-1] < offsets[1:]]  # each non-empty text begins a segment
    begins[starts] = True
    begins = np.flatnonzero(begins)
    text_of = np.searchsorted(offsets, begins, side="right") - 1
    ends = np.minimum(np.append(begins[1:], size), offsets[1:][text_of])
    return data, begins, ends - begins, np.bincount(text_of, minlength=len(texts))
