"""Word n-gram hashes of a batch equal those of each document on its own."""

from __future__ import annotations

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
