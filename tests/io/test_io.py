"""Intermediate documents round-trip through the Parquet and JSONL writers and readers with their metadata."""

from __future__ import annotations

import math

import pytest
from datatrove.data import Document

from medcorpus.io.formats import make_reader, make_writer


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_metadata_round_trips_including_nan_and_nested_values(tmp_path, fmt):
    metadata = {"source": "pubmed", "score": float("nan"), "mesh": ["Humans", {"ui": "D006801", "name": "Ünïcode"}]}
    with make_writer(str(tmp_path), fmt) as writer:
        writer.write(Document(text="An abstract.", id="pubmed:1", metadata=dict(metadata)))
    (document,) = list(make_reader(str(tmp_path), fmt).run())
    assert document.id == "pubmed:1" and document.text == "An abstract."
    assert document.metadata["mesh"] == metadata["mesh"]
    if fmt == "parquet":  # metadata is a JSON column there, NaN included
        assert math.isnan(document.metadata["score"])
    else:  # datatrove's JSONL writer (orjson) writes NaN as null
        assert document.metadata["score"] is None
    assert document.metadata["source"] == "pubmed"
