"""Intermediate documents round-trip through the Parquet and JSONL writers and readers with their metadata."""

from __future__ import annotations

import math

import pytest
from datatrove.data import Document

from medcorpus.io.formats import SUFFIX, make_reader, make_writer


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


def test_file_names_follow_each_documents_tags(tmp_path):
    docs = [Document(text=f"t{i}", id=f"d{i}", metadata={"source": "ab"[i % 2]}) for i in range(6)]
    with make_writer(str(tmp_path / "by_source"), "parquet") as writer:
        for document in docs:
            writer.write(document, rank=i if (i := int(document.id[1:])) < 2 else 0)
    written = sorted(
        p.relative_to(tmp_path / "by_source").as_posix() for p in (tmp_path / "by_source").rglob("*.parquet")
    )
    assert written == ["a/00000.parquet", "b/00000.parquet", "b/00001.parquet"]
    with make_writer(str(tmp_path / "by_id"), "parquet", filename="${id}") as writer:
        for document in docs[:3]:
            writer.write(document)
    assert sorted(p.name for p in (tmp_path / "by_id").glob("*.parquet")) == ["d0.parquet", "d1.parquet", "d2.parquet"]


def test_the_column_reader_gives_datatrove_reads_documents(tmp_path, shared_data):
    """Intermediate Parquet files read a column at a time: the same documents as datatrove's row-by-row
    `read_file`, including rows without text (skipped), without id, with NaN or non-object metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datatrove.pipeline.readers import ParquetReader

    from medcorpus.sources.pubmed.reader import PubMedReader

    baseline = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    documents = [d for _, d in zip(range(2000), PubMedReader([str(baseline)]).read_file(str(baseline)))]
    with make_writer(str(tmp_path / "real"), "parquet") as writer:
        for document in documents:
            writer.write(document)
    odd = {"id": ["a", None, "c", "d", "e"], "text": ["x", "y", "", None, "z"]}
    odd["metadata"] = ['{"score": NaN}', "[1, 2]", "{}", "{}", '{"source": "s"}']
    (tmp_path / "odd" / "s").mkdir(parents=True)
    pq.write_table(pa.table(odd), tmp_path / "odd" / "s" / "00000.parquet")
    for folder in ("real", "odd"):
        ours = make_reader(str(tmp_path / folder), "parquet", batch_size=300)
        theirs = make_reader(str(tmp_path / folder), "parquet", batch_size=300)
        theirs.read_file = ParquetReader.read_file.__get__(theirs)  # datatrove's own row-by-row reading
        read = list(ours.run(None, 0, 1))
        expected = list(theirs.run(None, 0, 1))
        assert len(read) == len(expected) >= 3
        for got, want in zip(read, expected):
            assert (got.id, got.text) == (want.id, want.text)
            assert repr(got.metadata) == repr(want.metadata)  # NaN compares unequal to itself
    assert len(read) == 3 and read[1].id is None and read[1].metadata == {"metadata": [1, 2]}


def test_readers_keep_datatrove_s_per_document_stats(tmp_path, shared_data):
    """The intermediate reader and a source reader note each document's length (and token count) and add them
    when their run ends: the same stats, in the same order, as datatrove's `update_doc_stats` per document."""
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.readers import ParquetReader

    from medcorpus.io.formats import _read_row
    from medcorpus.sources.pubmed.reader import PubMedReader

    baseline = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    with make_writer(str(tmp_path), "parquet") as writer:
        for number, document in zip(range(700), PubMedReader([str(baseline)]).read_file(str(baseline))):
            if number % 3:
                document.metadata["token_count"] = number
            writer.write(document, rank=number % 2)
    ours = make_reader(str(tmp_path), "parquet", batch_size=100)
    theirs = ParquetReader(str(tmp_path), glob_pattern="*/*.parquet", adapter=_read_row, batch_size=100)
    for reader in (ours, theirs):
        assert len(list(reader.run(None, 0, 1))) == 700
    assert list(ours.stats.stats.to_dict().items()) == list(theirs.stats.stats.to_dict().items())

    source = PubMedReader([str(baseline)], limit=500)
    reference = PubMedReader([str(baseline)], limit=500)
    documents = list(source.run(None, 0, 1))
    reference.stat_update("input_files")
    for document in documents:
        PipelineStep.update_doc_stats(reference, document)  # datatrove's own, one document at a time
    expected = {"input_files": 1, "doc_len": reference.stats["doc_len"].to_dict()}
    assert {name: value for name, value in source.stats.stats.to_dict().items() if name in expected} == expected
    # the file's first record is a document, its first reject comes after: the stats are created in that order
    assert list(source.stats.stats.to_dict())[:3] == ["input_files", "doc_len", "rejected"]


def _stats(writer) -> list:
    """A writer's stats as datatrove saves them, key order included."""
    return list(writer.stats.stats.to_dict().items())


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_the_writer_keeps_datatrove_s_per_document_stats(tmp_path, fmt):
    """The writer adds its per-document counts (file label, total, doc_len, doc_len_tokens) when it closes: the
    same numbers, in the same order, as datatrove's `DiskWriter.write` adds them one document at a time, over two
    ranks written in turn (as a pool worker runs tasks) and two sources."""
    lengths = [7, 3, 250, 3, 41, 1, 9, 12]
    docs = [
        Document(
            text="x" * length,
            id=f"d{number}",
            metadata={"source": "ab"[number % 3 == 0]} | ({"token_count": length + 2} if number % 2 else {}),
        )
        for number, length in enumerate(lengths)
    ]
    from datatrove.pipeline.base import PipelineStep

    writer = make_writer(str(tmp_path), fmt)
    reference = make_writer(str(tmp_path / "unused"), fmt)  # its stats, kept as datatrove's `write` keeps them
    for rank in (0, 1):
        with writer:
            for document in docs[rank::2] + docs[:3]:
                writer.write(document, rank)
                reference.stat_update(f"{document.metadata['source']}/.XXXXX{SUFFIX[fmt]}.tmp")
                reference.stat_update("total")
                PipelineStep.update_doc_stats(reference, document)  # datatrove's own
    assert list(writer.stats.stats.to_dict().items()) == list(reference.stats.stats.to_dict().items())
    assert writer.stats["total"].n == 14 and writer.stats["doc_len"].max == 250
    assert len(list(make_reader(str(tmp_path), fmt).run())) == 14
