"""Word hashes computed a batch at a time equal the plain-Python definition (`word_hash`), and n-gram hashes of a
batch equal those of each document on its own."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from medcorpus.curation.decontam import words as words_module
from medcorpus.curation.decontam.words import TOKEN, hash_ngrams, text_ngrams, word_hash, word_hashes
from medcorpus.sources.pubmed.reader import PubMedReader

_EDGE_CASES = [
    "",
    "   ",
    "one two three",
    "Too short to hold a thirteen word run of words",
    "snake_case x_y __init__ a1_b2 9_9",  # underscores split words
    # lower-casing that is not one code point to one (dotted capital I, final sigma before a combining mark)
    "\u0130stanbul \u0130I and \u03a3\u039f\u03a3 \u039f\u0394\u039f\u03a3\u0301\u0391 final",
    "IL-6, TNF-\u03b1 and 5 \u00b5g/mL (p \u2264 0.05); na\u00efve caf\u00e9 \u00c5ngstr\u00f6m",
    "\u6587\u5b57 \u0661\u0662\u0663 \u00bd \u2460 x\u0301y \ud83d\ude00 tab\tnew\nline\x00nul",
    "A" * 3000 + " end",  # one long word
]


def _pubmed_texts(shared_data, count: int) -> list[str]:
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    return [document.text for _, document in zip(range(count), PubMedReader([path]).read_file(path))]


def _expected(text: str) -> list[int]:
    return [word_hash(word) for word in TOKEN.findall(text)]


def test_word_hashes_equal_the_definition_on_real_and_edge_case_texts(shared_data):
    texts = _EDGE_CASES + _pubmed_texts(shared_data, 400)
    assert any(not text.isascii() for text in texts) and sum(text.isascii() for text in texts) > 100
    hashes, counts = word_hashes(texts)
    assert counts.tolist() == [len(TOKEN.findall(text)) for text in texts]
    assert hashes.tolist() == [value for text in texts for value in _expected(text)]
    for text in _EDGE_CASES:  # alone, and as a word list
        assert word_hashes([text])[0].tolist() == _expected(text)
        assert hash_ngrams(TOKEN.findall(text), 1).tolist() == _expected(text)


def test_texts_longer_than_a_chunk_hash_the_same(shared_data, monkeypatch):
    """Batches are hashed in chunks of at most `_KEPT` code points (a longer text alone, with powers made for it)."""
    texts = _pubmed_texts(shared_data, 60) + _EDGE_CASES
    whole = word_hashes(texts)
    monkeypatch.setattr(words_module, "_KEPT", 700)
    monkeypatch.setattr(words_module, "_kept", [np.ones(0, np.uint64), np.ones(0, np.uint64)])
    chunked = word_hashes(texts)
    assert np.array_equal(whole[0], chunked[0]) and np.array_equal(whole[1], chunked[1])


@pytest.mark.parametrize("n", [1, 3, 13])
def test_batch_ngrams_equal_each_documents_own(shared_data, n):
    texts = _pubmed_texts(shared_data, 300)
    texts[5:5] = _EDGE_CASES
    batch, counts = text_ngrams(texts, n)
    assert len(batch) == len(texts) and counts.tolist() == [len(TOKEN.findall(text)) for text in texts]
    for got, text in zip(batch, texts):
        words = TOKEN.findall(text)
        assert np.array_equal(got, hash_ngrams(words, n))
        plain = []  # the n-gram polynomial of the word hashes, in Python
        for start in range(len(words) - n + 1):
            value = 0
            for word in words[start : start + n]:
                value = (value * 0x100000001B3 + word_hash(word)) % (1 << 64)
            plain.append(value)
        assert got.tolist() == plain
    assert sum(map(len, batch)) == sum(max(len(TOKEN.findall(t)) - n + 1, 0) for t in texts) > 0
    assert [len(a) for a in text_ngrams(["a", "b c"], 13)[0]] == [0, 0]


def test_a_batch_lookup_equals_each_documents_own(shared_data):
    """The index searched once for a batch: the same positions and per-item counts as document by document, on
    benchmark texts (hits, several items each), PubMed abstracts (few or none) and texts too short for an n-gram."""
    from medcorpus.curation.decontam.decontaminator import Decontaminator

    step = Decontaminator([str(shared_data / "benchmarks")])
    index = step.index
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    texts = [document.text for _, document in zip(range(200), PubMedReader([path]).read_file(path))]
    texts = [" ".join(t for _, t in item.texts) for item in step._items[::97]] + ["", "two words"] + texts
    ngrams, _ = text_ngrams(texts, step.n)
    batch = index.lookup_many(ngrams)
    assert sum(len(positions) > 0 for positions, _ in batch) > 80  # the benchmark texts hit
    for (positions, per_item), own in zip(batch, ngrams):  # against a plain search, without the prefilter
        left, right = np.searchsorted(index.hashes, own, "left"), np.searchsorted(index.hashes, own, "right")
        assert np.array_equal(positions, np.flatnonzero(right > left))
        assert per_item == Counter(ref for a, b in zip(left, right) for ref in index.refs[a:b].tolist())


def test_the_index_built_in_one_batch_equals_item_by_item(shared_data):
    """The benchmark index (every text's n-grams hashed in one batch) holds what hashing each item on its own and
    keeping its distinct hashes gives, in the same order, on the real benchmark files."""
    from medcorpus.curation.decontam.decontaminator import Decontaminator

    step = Decontaminator([str(shared_data / "benchmarks")])
    index = step.index
    hashes, refs = [], []
    for number, item in enumerate(step._items):
        found = np.unique(np.concatenate([hash_ngrams(TOKEN.findall(t), step.n) for _, t in item.texts] or [[]]))
        hashes.append(found.astype(np.uint64))
        refs.append(np.full(len(found), number, dtype=np.uint32))
    order = np.lexsort((np.concatenate(refs), np.concatenate(hashes)))
    assert len(index) > 800_000 and len(step._items) > 10_000
    assert np.array_equal(index.hashes, np.concatenate(hashes)[order])
    assert np.array_equal(index.refs, np.concatenate(refs)[order]) and index.refs.dtype == np.uint32
