"""Tokenizers behind one small interface: SentencePiece `.model` files and Hugging Face `tokenizer.json` files.

A `Tokenizer` knows its BOS/EOS policy (`encode_document`), identifies itself for the corpus manifest
(`identity`: file name, sha256, vocabulary size, special ids, policy) and pickles without its model, which
is reloaded lazily in the worker process that first uses it.

BOS/EOS policy: a document becomes `[BOS] + ids + [END]`. `add_bos` and `add_eos` switch the two markers on
or off (default both, as LLaMA-2 pretraining does). END is the tokenizer's EOS unless a separate
end-of-document token is given (`eod_id`, or `eod_token` looked up in the vocabulary), which is then used
instead of EOS (Megatron-style `<eod>` separators). So the policies are: BOS+doc+EOS, doc+EOS, BOS+doc,
doc alone, and BOS+doc+EOD / doc+EOD.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from itertools import chain

import numpy as np

from medcorpus.io.hashing import sha256_file
from medcorpus.tokenize.segments import SegmentEncoder, segmentable

DEFAULT_TOKENIZER = "mistral-7b-v0.1"

# Named tokenizers resolve to a file inside an installed package: (package, path inside the package).
# Nothing is ever downloaded. mistral_common ships the Mistral-7B-v0.1 SentencePiece model (Apache-2.0).
NAMED_TOKENIZERS: dict[str, tuple[str, str]] = {
    "mistral-7b-v0.1": ("mistral_common", "data/tokenizer.model.v1"),
}

KINDS = ("sentencepiece", "hf-tokenizers")

# Special-token spellings tried, in order, to find BOS/EOS in a tokenizer.json.
BOS_CANDIDATES = ("<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "<|im_start|>")
EOS_CANDIDATES = ("</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>", "<|im_end|>")


def resolve_named(name: str) -> str:
    """The local file of a named tokenizer, found inside its installed package."""
    package, relative = NAMED_TOKENIZERS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"tokenizer {name!r} needs the Python package {package!r}, which is not installed")
    for location in spec.submodule_search_locations:
        candidate = os.path.join(location, *relative.split("/"))
        if os.path.isfile(candidate):
            return candidate
    raise ValueError(f"tokenizer {name!r}: file {relative!r} not found in the installed package {package!r}")


def _find_special(backend, candidates: Sequence[str]) -> int | None:
    """Id of the first candidate spelling known to a `tokenizers.Tokenizer`, special/added tokens first."""
    added = {token.content for token in backend.get_added_tokens_decoder().values()}
    for pool in (added, None):
        for token in candidates:
            if pool is not None and token not in pool:
                continue
            token_id = backend.token_to_id(token)
            if token_id is not None:
                return token_id
    return None


class Tokenizer:
    """One tokenizer file plus a BOS/EOS policy. Build it with `load_tokenizer`."""

    def __init__(
        self,
        path: str,
        name: str | None = None,
        add_bos: bool = True,
        add_eos: bool = True,
        eod_id: int | None = None,
        eod_token: str | None = None,
    ):
        if not os.path.isfile(path):
            raise ValueError(f"tokenizer file not found: {path}")
        self.path = os.path.abspath(path)
        self.kind = "hf-tokenizers" if path.endswith(".json") else "sentencepiece"
        self.name = name or self._default_name()
        self.add_bos = bool(add_bos)
        self.add_eos = bool(add_eos)
        self.sha256 = sha256_file(self.path)
        self._model = None
        model = self._load()
        if self.kind == "sentencepiece":
            self.vocab_size = int(model.get_piece_size())
            self.bos_id = int(model.bos_id()) if model.bos_id() >= 0 else None
            self.eos_id = int(model.eos_id()) if model.eos_id() >= 0 else None
        else:
            self.vocab_size = int(model.get_vocab_size(with_added_tokens=True))
            self.bos_id = _find_special(model, BOS_CANDIDATES)
            self.eos_id = _find_special(model, EOS_CANDIDATES)
        self.eod_id, self.eod_token = self._resolve_eod(eod_id, eod_token)
        if self.add_bos and self.bos_id is None:
            raise ValueError(f"tokenizer {self.name!r} has no BOS token, but add_bos=True")
        if self.add_eos and self.eod_id is None and self.eos_id is None:
            raise ValueError(f"tokenizer {self.name!r} has no EOS token, but add_eos=True (give eod_id or eod_token)")
        self.end_id = (self.eos_id if self.eod_id is None else self.eod_id) if self.add_eos else None
        self._prefix = [self.bos_id] if self.add_bos else []
        self._suffix = [self.end_id] if self.add_eos else []

    def _resolve_eod(self, eod_id: int | None, eod_token: str | None) -> tuple[int | None, str | None]:
        """The separate end-of-document id (and its spelling) from `eod_id` or `eod_token`; (None, None) if unset."""
        if eod_id is None and eod_token is None:
            return None, None
        if not self.add_eos:
            raise ValueError(f"tokenizer {self.name!r}: an end-of-document token needs add_eos=True (it replaces EOS)")
        model = self._load()
        lookup = model.piece_to_id if self.kind == "sentencepiece" else model.token_to_id
        reverse = model.id_to_piece if self.kind == "sentencepiece" else model.id_to_token
        if eod_token is not None:
            found = lookup(eod_token)
            if found is None or reverse(found) != eod_token:  # SentencePiece maps an unknown piece to <unk>
                raise ValueError(f"tokenizer {self.name!r} has no token {eod_token!r} (eod_token)")
            if eod_id is not None and int(eod_id) != found:
                raise ValueError(f"eod_id {eod_id} and eod_token {eod_token!r} (id {found}) disagree")
            return int(found), eod_token
        if isinstance(eod_id, bool) or not isinstance(eod_id, int) or not 0 <= eod_id < self.vocab_size:
            raise ValueError(f"eod_id must be an integer in [0, {self.vocab_size}), got {eod_id!r}")
        return int(eod_id), reverse(int(eod_id))

    @property
    def policy(self) -> str:
        """The document layout, e.g. "bos+doc+eos", "doc+eod" or "doc"."""
        end = ("eod" if self.eod_id is not None else "eos") if self.add_eos else None
        return "+".join(part for part in ("bos" if self.add_bos else None, "doc", end) if part)

    def _default_name(self) -> str:
        base = os.path.basename(self.path)
        if base == "tokenizer.json":
            return f"{os.path.basename(os.path.dirname(self.path))}/{base}"
        return base

    def _load(self):
        """Load (or return) the backend model; refuses a file that changed since this tokenizer was built."""
        if self._model is not None:
            return self._model
        if getattr(self, "vocab_size", None) is not None and sha256_file(self.path) != self.sha256:
            raise ValueError(f"tokenizer file changed since it was loaded: {self.path}")
        if self.kind == "sentencepiece":
            import sentencepiece

            model = sentencepiece.SentencePieceProcessor()
            try:
                model.Load(self.path)
            except (OSError, RuntimeError) as error:
                raise ValueError(f"not a SentencePiece model: {self.path} ({error})") from None
        else:
            import tokenizers

            try:
                model = tokenizers.Tokenizer.from_file(self.path)
            except Exception as error:  # the Rust side raises plain Exception on a bad file
                raise ValueError(f"not a Hugging Face tokenizer.json: {self.path} ({error})") from None
        self._model = model
        return model

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_model"] = None  # reloaded lazily in the process that uses it
        state["_segments"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r}, kind={self.kind!r}, vocab_size={self.vocab_size})"

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, without special tokens."""
        model = self._load()
        if self.kind == "sentencepiece":
            return model.encode(text)
        return model.encode(text, add_special_tokens=False).ids

    def encode_document(self, text: str) -> list[int]:
        """Token ids of one document with the BOS/EOS policy applied."""
        return self._prefix + self.encode(text) + self._suffix

    def segment_encoder(self) -> SegmentEncoder | None:
        """The word-by-word encoder of a segmentable SentencePiece model (`segments.py`), else None."""
        if self.__dict__.get("_segments") is None:
            model = self._load()
            usable = self.kind == "sentencepiece" and segmentable(model.serialized_model_proto())
            self._segments = SegmentEncoder(model) if usable else False
        return self._segments or None

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`encode_documents` of a batch as one integer array (every document's ids in turn) and each document's
        number of ids."""
        texts = list(texts)
        segments = self.segment_encoder()
        if segments is None:
            encoded = self.encode_documents(texts, num_threads=1)
            lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
            return np.fromiter(chain.from_iterable(encoded), np.int64, int(lengths.sum())), lengths
        ids, lengths = segments.encode_flat(texts)
        prefix, suffix = self._prefix, self._suffix
        if not prefix and not suffix:
            return ids, lengths
        sized = lengths + len(prefix) + len(suffix)
        starts = np.cumsum(sized) - sized
        out = np.empty(int(sized.sum()), dtype=ids.dtype)
        out[np.repeat(starts + len(prefix) - (np.cumsum(lengths) - lengths), lengths) + np.arange(len(ids))] = ids
        for offset, token in enumerate(prefix):
            out[starts + offset] = token
        for offset, token in enumerate(suffix):
            out[starts + len(prefix) + lengths + offset] = token
        return out, sized

    def encode_documents(self, texts: list[str], num_threads: int = -1) -> list[list[int]]:
        """`encode_document` over a batch (the backend may use several threads; a segmentable SentencePiece model
        is encoded word by word instead, `segments.py`); the same ids as one by one."""
        texts = list(texts)
        if not texts:
            return []
        if self.segment_encoder() is not None:
            ids, lengths = self.encode_flat(texts)
            flat, ends = ids.tolist(), np.cumsum(lengths).tolist()
            return [flat[end - length : end] for end, length in zip(ends, lengths.tolist())]
        model = self._load()
        if self.kind == "sentencepiece" and self.eod_id is None:
            return model.encode(texts, add_bos=self.add_bos, add_eos=self.add_eos, num_threads=num_threads)
        if self.kind == "sentencepiece":
            encoded = model.encode(texts, add_bos=self.add_bos, num_threads=num_threads)
            for ids in encoded:
                ids.append(self.eod_id)
            return encoded
        encodings = model.encode_batch_fast(texts, add_special_tokens=False)
        return [self._prefix + encoding.ids + self._suffix for encoding in encodings]

    def decode(self, ids, skip_special: bool = True) -> str:
        """Text of a sequence of ids; special tokens dropped, or written out with `skip_special=False`
        (SentencePiece: the runs between them decoded one by one, the inverse of `encode_spans`)."""
        ids = [int(token) for token in ids]
        model = self._load()
        if self.kind != "sentencepiece":
            return model.decode(ids, skip_special_tokens=skip_special)
        if skip_special:
            return model.decode(ids)
        parts, run = [], []
        for token in ids:
            if model.is_control(token):
                parts += [model.decode(run), model.id_to_piece(token)]
                run = []
            else:
                run.append(token)
        return "".join(parts) + model.decode(run)

    def special_id(self, token: str) -> int | None:
        """The id of `token` when it is one token of this tokenizer wherever it appears (a Hugging Face added
        token, which encoding splits out of any text, or a SentencePiece piece of its own), else None."""
        model = self._load()
        if self.kind == "sentencepiece":
            found = model.piece_to_id(token)
            return int(found) if model.id_to_piece(found) == token and not model.is_unknown(found) else None
        added = {added.content: token_id for token_id, added in model.get_added_tokens_decoder().items()}
        return added.get(token)

    def special_tokens(self) -> list[str]:
        """The spellings that stand for a special token in text: Hugging Face special added tokens,
        SentencePiece control symbols (`<s>`, `</s>`)."""
        model = self._load()
        if self.kind == "sentencepiece":
            return [model.id_to_piece(i) for i in range(self.vocab_size) if model.is_control(i)]
        return sorted(token.content for token in model.get_added_tokens_decoder().values() if token.special)

    def encode_spans(self, text: str, markers=()) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids of `text`, special markers included, each with the [start, end) characters it covers.

        Hugging Face: the backend's own encoding without added BOS/EOS (it reads every added token as its id,
        as transformers' `apply_chat_template` tokenizes). SentencePiece, which reads no special token in text:
        each of `markers` (spellings `special_id` knows) becomes its id and the text between markers is encoded
        piece by piece, as Meta's Llama reference code and transformers' (legacy) Llama tokenizer do.
        """
        model = self._load()
        if self.kind != "sentencepiece":
            encoding = model.encode(text, add_special_tokens=False)
            return list(encoding.ids), [tuple(span) for span in encoding.offsets]
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        start = 0
        pattern = "|".join(re.escape(marker) for marker in sorted(markers, key=len, reverse=True))
        for found in re.finditer(pattern, text) if pattern else ():
            self._encode_piece(text, start, found.start(), ids, spans)
            ids.append(self.special_id(found.group()))
            spans.append(found.span())
            start = found.end()
        self._encode_piece(text, start, len(text), ids, spans)
        return ids, spans

    def _encode_piece(self, text: str, start: int, end: int, ids: list, spans: list) -> None:
        """SentencePiece ids of text[start:end], with character spans (SentencePiece reports bytes)."""
        if start == end:
            return
        piece = text[start:end]
        tokens = [
            (token.id, token.begin, token.end) for token in self._load().encode(piece, return_type="proto").pieces
        ]
        ids.extend(token_id for token_id, _, _ in tokens)
        if piece.isascii():  # one byte per character
            spans.extend((start + begin, start + stop) for _, begin, stop in tokens)
            return
        widths = np.fromiter((len(char.encode("utf-8")) for char in piece), dtype=np.int64, count=len(piece))
        char_starts = np.concatenate([[0], np.cumsum(widths)])  # byte offset of each character, and the end
        bounds = np.array([(begin, stop) for _, begin, stop in tokens], dtype=np.int64).reshape(-1, 2)
        first = np.searchsorted(char_starts, bounds[:, 0], side="right") - 1 + start
        last = np.searchsorted(char_starts, bounds[:, 1], side="left") + start
        spans.extend(zip(first.tolist(), last.tolist()))

    def identity(self) -> dict:
        """What the corpus manifest records to say exactly which tokenizer and policy made the shards.

        `eod_id`/`eod_token`/`policy` appear only when a separate end-of-document token replaces EOS;
        without them the layout is fully given by `add_bos`/`add_eos` with `bos_id`/`eos_id`.
        """
        identity = {
            "name": self.name,
            "kind": self.kind,
            "file": os.path.basename(self.path),
            "sha256": self.sha256,
            "vocab_size": self.vocab_size,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
            "add_bos": self.add_bos,
            "add_eos": self.add_eos,
        }
        if self.eod_id is not None:
            identity.update(eod_id=self.eod_id, eod_token=self.eod_token, policy=self.policy)
        return identity


def load_tokenizer(
    name_or_path: str,
    add_bos: bool = True,
    add_eos: bool = True,
    eod_id: int | None = None,
    eod_token: str | None = None,
) -> Tokenizer:
    """A named tokenizer (see NAMED_TOKENIZERS), a SentencePiece model file, a tokenizer.json file,
    or a folder holding `tokenizer.json` or `tokenizer.model`, with the given BOS/EOS/EOD policy."""
    policy = {"add_bos": add_bos, "add_eos": add_eos, "eod_id": eod_id, "eod_token": eod_token}
    if name_or_path in NAMED_TOKENIZERS:
        return Tokenizer(resolve_named(name_or_path), name=name_or_path, **policy)
    path = os.path.expanduser(name_or_path)
    if os.path.isdir(path):
        for candidate in ("tokenizer.json", "tokenizer.model"):
            if os.path.isfile(os.path.join(path, candidate)):
                return Tokenizer(os.path.join(path, candidate), **policy)
        raise ValueError(f"no tokenizer.json or tokenizer.model in folder: {name_or_path}")
    if os.path.isfile(path):
        return Tokenizer(path, **policy)
    known = ", ".join(sorted(NAMED_TOKENIZERS))
    raise ValueError(f"unknown tokenizer {name_or_path!r}: not a named tokenizer ({known}) nor an existing file")
