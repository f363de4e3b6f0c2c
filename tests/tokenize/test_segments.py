"""Word-by-word SentencePiece encoding (`segments.py`) gives SentencePiece's own ids, on real text and edge cases."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sentencepiece import sentencepiece_model_pb2

from medcorpus import bytekeys
from medcorpus.sources.pmc.reader import PMCReader
from medcorpus.sources.pubmed.reader import PubMedReader
from medcorpus.tokenize import load_tokenizer
from medcorpus.tokenize import segments as segments_module
from medcorpus.tokenize.segments import SPACE, SegmentEncoder, segmentable
from medcorpus.tokenize.tokenizer import resolve_named

EDGE_CASES = [
    "",
    " ",
    "  ",
    "   ",
    "a",
    " a",
    "a ",
    "a  b",
    "  a  ",
    SPACE,
    f"x{SPACE}y",
    f"a {SPACE}b",
    "\n",
    " \n ",
    "tab\tx",
    "line\r\nnext",
    "\u00e9  \u00fc",
    "\U0001f600 x",
    "a\u3000b",
    "\u200b zero width",
    "x" * 5000,
    "1234567890 123.456",
    "<s> </s> <unk> [INST] hi",
    "IL-6, TNF-\u03b1 and 5 \u00b5g/mL (p \u2264 0.05)",
]


def _split(ids: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])] if len(lengths) else []


def _random_texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = f"  {SPACE}ab1\u00e9\n\t\U0001f600.,\u3000"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(count)]


@pytest.fixture(scope="module")
def mistral():
    return load_tokenizer("mistral-7b-v0.1")


def _real_texts(shared_data) -> list[str]:
    pubmed = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    texts = [document.text for _, document in zip(range(4000), PubMedReader([pubmed]).read_file(pubmed))]
    pmc = PMCReader([str(shared_data / "pmc_oa")])
    texts += [document.text for _, document in zip(range(40), pmc.run())]
    return texts


def test_the_shipped_mistral_model_is_segmentable_and_changed_ones_are_not(mistral):
    serialized = mistral._load().serialized_model_proto()
    assert segmentable(serialized)
    for change in ("unigram", "collapse", "suffix", "user", "inner_space"):
        model = sentencepiece_model_pb2.ModelProto()
        model.ParseFromString(serialized)
        if change == "unigram":
            model.trainer_spec.model_type = 1
        elif change == "collapse":
            model.normalizer_spec.remove_extra_whitespaces = True
        elif change == "suffix":
            model.trainer_spec.treat_whitespace_as_suffix = True
        elif change == "user":
            model.pieces[1000].type = 4
        else:
            model.pieces[1000].piece = f"a{SPACE}b"
        assert not segmentable(model.SerializeToString()), change


def test_segment_ids_equal_sentencepiece_on_real_text_and_edge_cases(mistral, shared_data):
    processor = mistral._load()
    texts = EDGE_CASES + _random_texts(3000) + _real_texts(shared_data)
    encoder = SegmentEncoder(processor)
    for start in range(0, len(texts), 256):  # batch by batch, the kept segments growing
        batch = texts[start : start + 256]
        assert _split(*encoder.encode_flat(batch)) == processor.encode(batch), start
    assert encoder.kept > 10_000


def test_forgetting_the_kept_segments_changes_nothing(mistral, shared_data, monkeypatch):
    """Past `CACHE_LIMIT` kept segments all are forgotten at once (a batch's own are then kept): the same ids."""
    processor = mistral._load()
    texts = _real_texts(shared_data)[:600] + EDGE_CASES
    monkeypatch.setattr(segments_module, "CACHE_LIMIT", 6000)
    encoder = SegmentEncoder(processor)
    kept, forgotten = 0, 0
    for start in range(0, len(texts), 40):
        batch = texts[start : start + 40]
        assert _split(*encoder.encode_flat(batch)) == processor.encode(batch)
        forgotten += encoder.kept < kept
        kept = encoder.kept
        assert kept <= 6000
    assert forgotten >= 2


def test_segments_sharing_a_hash_keep_their_own_ids(mistral, shared_data, monkeypatch):
    """A segment of 8 bytes or more is found by its hash and checked byte for byte: with a hash that keeps only 3
    bits (most such segments collide, within a batch and with kept ones), the ids are still SentencePiece's."""
    processor = mistral._load()
    texts = EDGE_CASES + _random_texts(300) + _real_texts(shared_data)[:300]
    monkeypatch.setattr(bytekeys, "_mix", lambda values: values & np.uint64(7))
    encoder = SegmentEncoder(processor)
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        assert _split(*encoder.encode_flat(batch)) == processor.encode(batch), start
    assert encoder.keys.count > 2 * encoder.kept  # most segments were encoded on their own, unkept


@pytest.mark.parametrize(
    "policy", [{}, {"add_bos": False}, {"add_eos": False}, {"eod_id": 5}, {"add_bos": False, "add_eos": False}]
)
def test_the_tokenizer_encodes_word_by_word_with_its_bos_eos_policy(policy, shared_data):
    tokenizer = load_tokenizer(resolve_named("mistral-7b-v0.1"), **policy)
    assert tokenizer.segment_encoder() is not None
    processor = tokenizer._load()
    texts = EDGE_CASES + _real_texts(shared_data)[:300]
    expected = [tokenizer._prefix + processor.encode(text) + tokenizer._suffix for text in texts]
    assert tokenizer.encode_documents(texts) == expected
    flat, lengths = tokenizer.encode_flat(texts)
    assert _split(flat, lengths) == expected
    assert [tokenizer.encode_document(text) for text in texts[:50]] == expected[:50]


def test_a_model_that_is_not_segmentable_is_encoded_by_sentencepiece(tmp_path, mistral):
    model = sentencepiece_model_pb2.ModelProto()
    model.ParseFromString(mistral._load().serialized_model_proto())
    model.normalizer_spec.remove_extra_whitespaces = True
    path = tmp_path / "collapsing.model"
    path.write_bytes(model.SerializeToString())
    tokenizer = load_tokenizer(str(path))
    assert tokenizer.segment_encoder() is None
    texts = ["a  b", "  lead", "plain text"]
    expected = [tokenizer._prefix + tokenizer._load().encode(text) + tokenizer._suffix for text in texts]
    assert tokenizer.encode_documents(texts) == expected and _split(*tokenizer.encode_flat(texts)) == expected
    assert expected[0] != [tokenizer._prefix[0], *mistral._load().encode("a  b"), *tokenizer._suffix]
