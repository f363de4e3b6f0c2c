"""Word n-gram hashes of a batch equal those of each document on its own."""

from __future__ import annotations

from collections import Counter

import numpy as np

from medcorpus.curation.decontam.words import TOKEN, batch_hash_ngrams, hash_ngrams
from medcorpus.sources.pubmed.reader import PubMedReader


def test_batch_hashes_equal_each_documents_own(shared_data):
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    texts = [document.text for _, document in zip(range(300), PubMedReader([path]).read_file(path))]
    texts[5:5] = ["", "one two three", "Too short to hold a thirteen word run of words"]  # fewer words than n
    words = [TOKEN.findall(text) for text in texts]
    for n in (1, 3, 13):
        batch = batch_hash_ngrams(words, n)
        assert len(batch) == len(texts)
        for got, text_words in zip(batch, words):
            assert np.array_equal(got, hash_ngrams(text_words, n))
        assert sum(map(len, batch)) == sum(max(len(w) - n + 1, 0) for w in words) > 0
    assert [len(a) for a in batch_hash_ngrams([["a"], ["b", "c"]], 13)] == [0, 0]


def test_a_batch_lookup_equals_each_documents_own(shared_data):
    """The index searched once for a batch: the same positions and per-item counts as document by document, on
    benchmark texts (hits, several items each), PubMed abstracts (few or none) and texts too short for an n-gram."""
    from medcorpus.curation.decontam.decontaminator import Decontaminator

    step = Decontaminator([str(shared_data / "benchmarks")])
    index = step.index
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    texts = [document.text for _, document in zip(range(200), PubMedReader([path]).read_file(path))]
    texts = [" ".join(t for _, t in item.texts) for item in step._items[::97]] + ["", "two words"] + texts
    ngrams = batch_hash_ngrams([TOKEN.findall(text) for text in texts], step.n)
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
