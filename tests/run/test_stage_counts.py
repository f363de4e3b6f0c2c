"""Per-stage counts: exact token counts at every stage, each document tokenized again only when its text changed."""

from __future__ import annotations

import json

from medcorpus.documents import make_document
from medcorpus.run.counts import TOKENS_KEY, StageCounter, read_counts
from medcorpus.tokenize import load_tokenizer


def documents(texts: list[str]) -> list:
    return [make_document(t, f"d:{i}", source="s" if i % 2 else "t", category="biomedical", license="l")
            for i, t in enumerate(texts)]  # fmt: skip


def test_token_counts_are_exact_and_carried_over_unchanged_text(tmp_path, monkeypatch):
    tokenizer = load_tokenizer("mistral-7b-v0.1")
    texts = [f"Metformin lowers glucose in patient group {i}. " * (i + 1) for i in range(300)]
    first = list(StageCounter(str(tmp_path / "a"), "mistral-7b-v0.1").run(iter(documents(texts))))
    expected = {"t": 0, "s": 0}
    for i, text in enumerate(texts):
        expected["s" if i % 2 else "t"] += len(tokenizer.encode_document(text))
    assert {k: v["tokens"] for k, v in read_counts(tmp_path / "a").items()} == expected
    assert all(len(d.metadata[TOKENS_KEY]) == 2 for d in first)

    encoded: list[int] = []
    original = type(tokenizer).encode_flat

    def spy(self, batch):
        encoded.extend(len(t) for t in batch)
        return original(self, batch)

    monkeypatch.setattr(type(tokenizer), "encode_flat", spy)
    for document in first:  # as the next stage reads them back from Parquet
        document.metadata = json.loads(json.dumps(document.metadata))
    first[3].text += " Changed by a later step."
    again = list(StageCounter(str(tmp_path / "b"), "mistral-7b-v0.1").run(iter(first)))
    assert len(encoded) == 1  # only the changed document
    expected["s"] += len(tokenizer.encode_document(first[3].text)) - len(tokenizer.encode_document(texts[3]))
    assert {k: v["tokens"] for k, v in read_counts(tmp_path / "b").items()} == expected
    other = list(StageCounter(str(tmp_path / "c"), "mistral-7b-v0.1", add_bos=False).run(iter(again)))
    assert len(encoded) == 1 + len(other)  # another policy counts anew
