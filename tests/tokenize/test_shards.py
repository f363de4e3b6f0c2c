"""Megatron shard writer/reader (format, round trip, atomicity, corruption) and the ShardTokenizer step."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader

from medcorpus.tokenize import ShardFormatError, ShardReader, ShardTokenizer, ShardWriter, list_shards, load_tokenizer


def write_shard(prefix, docs, vocab_size=32000) -> dict:
    with ShardWriter(str(prefix), vocab_size) as writer:
        for number, tokens in enumerate(docs):
            writer.add(tokens, f"doc-{number}", f"src{number % 2}", ("biomedical", "clinical", "general")[number % 3])
    return writer.close()


def test_idx_bytes_match_megatron_layout_byte_for_byte(tmp_path):
    result = write_shard(tmp_path / "tiny", [[5, 6, 7], [8]], vocab_size=100)
    assert result == {"prefix": str(tmp_path / "tiny"), "documents": 2, "tokens": 4}
    expected_idx = (
        b"MMIDIDX\x00\x00"  # magic
        + b"\x01\x00\x00\x00\x00\x00\x00\x00"  # version 1 (<Q)
        + b"\x08"  # dtype code 8 = uint16 (<B)
        + b"\x02\x00\x00\x00\x00\x00\x00\x00"  # 2 sequences (<Q)
        + b"\x03\x00\x00\x00\x00\x00\x00\x00"  # 3 document indices (<Q)
        + b"\x03\x00\x00\x00\x01\x00\x00\x00"  # sequence lengths 3, 1 (int32)
        + b"\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00"  # byte pointers 0, 6 (int64)
        + b"\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"  # document indices 0, 1 (int64)
        + b"\x02\x00\x00\x00\x00\x00\x00\x00"  # ... and 2 (int64)
    )
    assert (tmp_path / "tiny.idx").read_bytes() == expected_idx
    assert (tmp_path / "tiny.bin").read_bytes() == b"\x05\x00\x06\x00\x07\x00\x08\x00"


def test_int32_when_vocab_exceeds_uint16(tmp_path):
    write_shard(tmp_path / "wide", [[70000, 3], [65535]], vocab_size=100_000)
    header = (tmp_path / "wide.idx").read_bytes()[:34]
    assert struct.unpack("<9sQBQQ", header) == (b"MMIDIDX\x00\x00", 1, 4, 2, 3)
    reader = ShardReader(str(tmp_path / "wide"))
    assert reader.dtype == np.int32
    assert reader.tokens(0).tolist() == [70000, 3]
    assert (tmp_path / "wide.bin").read_bytes() == np.array([70000, 3, 65535], "<i4").tobytes()


@pytest.mark.parametrize("vocab_size, token_size", [(32000, 2), (128256, 4)])
def test_bytes_equal_datatrove_megatron_writer(tmp_path, vocab_size, token_size):
    """An independent implementation of the same format (datatrove's Megatron writer) gives identical files."""
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronTokenizedFile

    rng = np.random.default_rng(3)
    docs = [rng.integers(0, vocab_size, size=int(rng.integers(1, 500))).tolist() for _ in range(50)]
    reference = MegatronTokenizedFile(str(tmp_path / "ref"), "shard", token_size=token_size)
    for doc in docs:
        reference.write(doc)
    reference.close()
    write_shard(tmp_path / "ours", docs, vocab_size=vocab_size)
    for suffix in (".idx", ".bin"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / "ref" / f"shard{suffix}").read_bytes()
    assert ShardReader(str(tmp_path / "ref" / "shard")).tokens(7).tolist() == docs[7]


def test_output_is_deterministic(tmp_path):
    docs = [[1, 2, 3], [], [4] * 1000]
    write_shard(tmp_path / "a", docs)
    write_shard(tmp_path / "b", docs)
    for suffix in (".bin", ".idx", ".docs.parquet"):
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


def test_round_trip_with_provenance(tmp_path):
    rng = np.random.default_rng(7)
    docs = [rng.integers(0, 32000, size=int(rng.integers(0, 3000))) for _ in range(300)] + [[]]
    result = write_shard(tmp_path / "rt", docs)
    reader = ShardReader(str(tmp_path / "rt"))
    assert len(reader) == result["documents"] == 301
    assert reader.total_tokens == result["tokens"] == sum(len(doc) for doc in docs)
    assert reader.dtype == np.uint16
    assert reader.lengths.tolist() == [len(doc) for doc in docs]
    for number, doc in enumerate(docs):
        assert np.array_equal(reader.tokens(number), np.asarray(doc))
    assert isinstance(reader.tokens(3).base, np.memmap) or isinstance(reader.tokens(3), np.memmap)
    assert np.array_equal(reader.tokens(-1), reader.tokens(300))
    assert reader.doc_ids == [f"doc-{number}" for number in range(301)]
    assert reader.sources[:3] == ["src0", "src1", "src0"]
    assert reader.categories[:4] == ["biomedical", "clinical", "general", "biomedical"]
    with pytest.raises(IndexError):
        reader.tokens(301)
    assert sorted(os.listdir(tmp_path)) == ["rt.bin", "rt.docs.parquet", "rt.idx"]


def test_nothing_published_before_close_or_after_error(tmp_path):
    writer = ShardWriter(str(tmp_path / "part"), 100)
    writer.add([1, 2], "a", "s", "general")
    assert list_shards(str(tmp_path)) == []
    assert not any(name.startswith("part.") for name in os.listdir(tmp_path))
    writer.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError), ShardWriter(str(tmp_path / "boom"), 100) as failing:
        failing.add([3], "b", "s", "general")
        raise RuntimeError("simulated crash")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_whole_shard(tmp_path):
    write_shard(tmp_path / "again", [[1, 2, 3]] * 5)
    write_shard(tmp_path / "again", [[9]])
    reader = ShardReader(str(tmp_path / "again"))
    assert len(reader) == 1 and reader.tokens(0).tolist() == [9] and reader.doc_ids == ["doc-0"]


def test_rejects_bad_tokens(tmp_path):
    with ShardWriter(str(tmp_path / "bad"), 100) as writer:
        with pytest.raises(ValueError, match="outside"):
            writer.add([5, 100], "x", "s", "general")
        with pytest.raises(ValueError, match="outside"):
            writer.add([-1], "x", "s", "general")
        with pytest.raises(ValueError, match="integers"):
            writer.add([1.5], "x", "s", "general")
        writer.add([99], "ok", "s", "general")
    assert ShardReader(str(tmp_path / "bad")).doc_ids == ["ok"]


def _corrupt(path, mutate):
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(mutate(data)))


@pytest.mark.parametrize(
    "suffix, mutate, reason",
    [
        (".idx", lambda data: b"NOTANIDX\x00" + data[9:], "magic"),
        (".idx", lambda data: data[:9] + struct.pack("<Q", 2) + data[17:], "version"),
        (".idx", lambda data: data[:17] + b"\x06" + data[18:], "dtype code"),
        (".idx", lambda data: data[:-5], "expected"),
        (".idx", lambda data: data[:20], "header"),
        (".idx", lambda data: data[:34] + struct.pack("<i", -3) + data[38:], "negative"),
        (".idx", lambda data: data[:42] + struct.pack("<q", 2) + data[50:], "pointers"),
        (".bin", lambda data: data[:-2], "the index expects"),
        (".bin", lambda data: data + b"\x00\x00", "the index expects"),
    ],
)
def test_corrupt_or_truncated_files_fail_clearly(tmp_path, suffix, mutate, reason):
    write_shard(tmp_path / "c", [[1, 2, 3], [4, 5]])
    target = tmp_path / f"c{suffix}"
    _corrupt(target, mutate)
    with pytest.raises(ShardFormatError, match=reason) as info:
        ShardReader(str(tmp_path / "c"))
    assert str(target) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_files_and_bad_sidecar(tmp_path):
    write_shard(tmp_path / "m", [[1], [2]])
    os.remove(tmp_path / "m.bin")
    with pytest.raises(ShardFormatError, match="m.bin"):
        ShardReader(str(tmp_path / "m"))
    write_shard(tmp_path / "s", [[1], [2]])
    write_shard(tmp_path / "other", [[1]])
    os.replace(tmp_path / "other.docs.parquet", tmp_path / "s.docs.parquet")
    reader = ShardReader(str(tmp_path / "s"))
    assert reader.tokens(1).tolist() == [2]  # tokens stay readable without provenance
    with pytest.raises(ShardFormatError, match="s.docs.parquet"):
        _ = reader.doc_ids


def test_list_shards_sorted_and_recursive(tmp_path):
    for name in ("00002", "00000", "sub/00001", "00010"):
        write_shard(tmp_path / name, [[1]])
    (tmp_path / ".00003.tmpname.idx.tmp").write_bytes(b"")
    expected = [str(tmp_path / name) for name in ("00000", "00002", "00010", "sub/00001")]
    assert list_shards(str(tmp_path)) == expected
    with pytest.raises(ValueError):
        list_shards(str(tmp_path / "missing"))


def _write_inputs(folder, documents):
    folder.mkdir()
    for part in range(2):
        with open(folder / f"part{part}.jsonl", "w", encoding="utf-8") as handle:
            for row in documents[part::2]:
                handle.write(json.dumps(row) + "\n")


def test_shard_tokenizer_step_with_local_executor(tmp_path):
    texts = [
        f"Case {number}: a {40 + number}-year-old presented with fever of 38.{number} °C and a productive cough."
        for number in range(9)
    ]
    documents = [
        {"id": f"pubmed:{number}", "text": text, "metadata": {"source": "pubmed", "category": "biomedical"}}
        for number, text in enumerate(texts)
    ]
    documents.append({"id": "bad:empty", "text": "   ", "metadata": {"source": "pubmed", "category": "biomedical"}})
    documents.append({"id": "bad:noprov", "text": "Some text without provenance.", "metadata": {}})
    _write_inputs(tmp_path / "in", documents)
    out = tmp_path / "shards"
    executor = LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(tmp_path / "in"), glob_pattern="*.jsonl", compression=None),
            ShardTokenizer(str(out), batch_size=3),
        ],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    )
    executor.run()
    prefixes = list_shards(str(out))
    assert prefixes == [str(out / "00000"), str(out / "00001")]
    tokenizer = load_tokenizer("mistral-7b-v0.1")
    seen = {}
    for prefix in prefixes:
        reader = ShardReader(prefix)
        assert set(reader.sources) == {"pubmed"} and set(reader.categories) == {"biomedical"}
        for number, doc_id in enumerate(reader.doc_ids):
            seen[doc_id] = reader.tokens(number).tolist()
    assert sorted(seen) == sorted(f"pubmed:{number}" for number in range(9))
    for number, text in enumerate(texts):
        assert seen[f"pubmed:{number}"] == tokenizer.encode_document(text)
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    step_stats = next(stage["stats"] for stage in stats if "TOKENIZER" in stage["name"])
    assert step_stats["tokens"]["total"] == sum(len(tokens) for tokens in seen.values())
    assert step_stats["skipped_empty_text"] == 1 and step_stats["skipped_missing_provenance"] == 1


def test_step_passes_documents_on_with_token_count(tmp_path):
    from datatrove.data import Document

    step = ShardTokenizer(str(tmp_path / "o"), add_bos=False, batch_size=2)
    docs = [
        Document(text=f"Note {n}: blood pressure 120/80.", id=f"d{n}", metadata={"source": "s", "category": "clinical"})
        for n in range(3)
    ]
    docs.append(Document(text="bad \ud800 surrogate", id="d-bad", metadata={"source": "s", "category": "clinical"}))
    passed = list(step.run(iter(docs), rank=3))
    assert [doc.id for doc in passed] == ["d0", "d1", "d2"]
    reader = ShardReader(str(tmp_path / "o" / "00003"))
    assert reader.lengths.tolist() == [doc.metadata["token_count"] for doc in passed]
    assert reader.tokens(0)[0] != 1 and reader.tokens(0)[-1] == 2  # add_bos=False, add_eos=True
    assert list(ShardTokenizer(str(tmp_path / "empty")).run(iter([]), rank=0)) == []
    assert not (tmp_path / "empty").exists() or list_shards(str(tmp_path / "empty")) == []


def test_loss_masks_are_a_uint8_megatron_shard_beside_the_tokens(tmp_path):
    prefix = str(tmp_path / "sft")
    with ShardWriter(prefix, 100, masks=True) as writer:
        writer.add([1, 2, 3], "a", "s", "biomedical", mask=[0, 1, 1])
        writer.add_batch(
            np.array([4, 5, 6, 7]),
            [1, 3],
            ["b", "c"],
            ["s", "s"],
            ["biomedical"] * 2,
            [False] * 2,
            masks=np.array([1, 0, 0, 1]),
        )
    reader = ShardReader(prefix)
    assert reader.has_masks and [reader.mask(i).tolist() for i in range(3)] == [[0, 1, 1], [1], [0, 0, 1]]
    assert reader.mask_stream(2, 5).tolist() == [1, 1, 0]
    mask = ShardReader(prefix + ".mask")  # itself a Megatron indexed dataset, one sequence per document
    assert mask.dtype == np.uint8 and mask.lengths.tolist() == reader.lengths.tolist()
    assert list_shards(str(tmp_path)) == [prefix]  # the mask is not listed as a shard of its own
    with pytest.raises(ValueError, match="needs a loss mask of 2 values"):
        ShardWriter(str(tmp_path / "bad"), 100, masks=True).add([1, 2], "d", "s", "biomedical", mask=[1])
    with pytest.raises(ValueError, match="opened without masks"):
        ShardWriter(str(tmp_path / "bad2"), 100).add([1, 2], "d", "s", "biomedical", mask=[1, 1])
    with ShardWriter(prefix, 100) as writer:  # rewritten without masks: the old mask goes too
        writer.add([1], "a", "s", "biomedical")
    assert not ShardReader(prefix).has_masks and not os.path.exists(prefix + ".mask.idx")
    with pytest.raises(ShardFormatError, match="no loss mask"):
        ShardReader(prefix).mask(0)
