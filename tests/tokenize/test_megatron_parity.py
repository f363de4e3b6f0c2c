"""Our .bin/.idx shards read back by megatron-core's own IndexedDataset, and byte-identical to what its
IndexedDatasetBuilder writes for the same sequences (the `train` extra installs megatron-core)."""

from __future__ import annotations

import numpy as np
import pytest
from support.requirements import require_module

from medcorpus.tokenize import ShardReader, ShardTokenizer, ShardWriter, load_tokenizer, token_dtype

indexed_dataset = require_module(
    "megatron.core.datasets.indexed_dataset",
    "megatron-core is not importable (install the `train` extra: pip install -e '.[train]')",
)
torch = require_module("torch")
IndexedDataset = indexed_dataset.IndexedDataset
IndexedDatasetBuilder = indexed_dataset.IndexedDatasetBuilder
DType = indexed_dataset.DType

CATEGORIES = ("biomedical", "clinical", "general")


def make_docs(vocab_size: int, count: int, seed: int, empty_at: tuple[int, ...] = ()) -> list[np.ndarray]:
    """`count` random documents with ids spanning the whole vocabulary; the ones at `empty_at` are empty."""
    rng = np.random.default_rng(seed)
    docs = [rng.integers(0, vocab_size, size=int(rng.integers(1, 700))) for _ in range(count)]
    docs[0][0], docs[-1][-1] = 0, vocab_size - 1  # the extreme ids survive the dtype
    for position in empty_at:
        docs[position] = np.zeros(0, dtype=np.int64)
    return docs


def write_ours(prefix: str, docs: list[np.ndarray], vocab_size: int) -> None:
    with ShardWriter(prefix, vocab_size) as writer:
        for number, doc in enumerate(docs):
            writer.add(doc, f"doc-{number}", f"src{number % 2}", CATEGORIES[number % 3])


def write_megatron(prefix: str, docs: list[np.ndarray], vocab_size: int) -> None:
    """As Megatron-LM's tools/preprocess_data.py does: one add_document per document, optimal dtype."""
    builder = IndexedDatasetBuilder(prefix + ".bin", dtype=DType.optimal_dtype(vocab_size))
    for doc in docs:
        builder.add_document(torch.tensor(doc, dtype=torch.int64), [len(doc)])
    builder.finalize(prefix + ".idx")


def assert_megatron_reads(prefix: str, docs: list[np.ndarray], vocab_size: int, mmap: bool = True) -> None:
    dataset = IndexedDataset(prefix, mmap=mmap)
    assert len(dataset) == len(docs)
    assert dataset.index.dtype == token_dtype(vocab_size)
    assert np.array_equal(dataset.document_indices, np.arange(len(docs) + 1))
    assert np.array_equal(dataset.sequence_lengths, [len(doc) for doc in docs])
    for number, doc in enumerate(docs):
        assert np.array_equal(dataset[number], doc), f"sequence {number} differs"
    if docs and len(docs[-1]) >= 3:  # a window inside a sequence, as GPTDataset fetches samples
        assert np.array_equal(dataset.get(len(docs) - 1, offset=1, length=2), docs[-1][1:3])


CASES = {
    "uint16-llama2": (32000, 40, ()),
    "uint16-edge": (65499, 12, ()),
    "int32-edge": (65500, 12, ()),
    "int32-llama3": (128256, 40, ()),
    "empty-docs": (32000, 9, (0, 4, 8)),
    "empty-docs-int32": (151646, 6, (1, 5)),
    "one-doc": (32000, 1, ()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_megatron_reads_our_shards(tmp_path, case):
    vocab_size, count, empty_at = CASES[case]
    docs = make_docs(vocab_size, count, seed=len(case), empty_at=empty_at)
    write_ours(str(tmp_path / "ours"), docs, vocab_size)
    assert_megatron_reads(str(tmp_path / "ours"), docs, vocab_size)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bytes_identical_to_megatron_builder(tmp_path, case):
    vocab_size, count, empty_at = CASES[case]
    docs = make_docs(vocab_size, count, seed=len(case) + 7, empty_at=empty_at)
    write_ours(str(tmp_path / "ours"), docs, vocab_size)
    write_megatron(str(tmp_path / "theirs"), docs, vocab_size)
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / f"theirs{suffix}").read_bytes(), suffix
    reader = ShardReader(str(tmp_path / "theirs"))  # and our reader takes megatron-core's files
    assert [reader.tokens(i).tolist() for i in range(len(reader))] == [doc.tolist() for doc in docs]


def test_dtype_rule_matches_megatron():
    for vocab_size in (100, 32000, 50257, 65499, 65500, 65535, 65536, 128256):
        assert token_dtype(vocab_size) == np.dtype(DType.optimal_dtype(vocab_size)), vocab_size


@pytest.mark.parametrize("count", [0, 3])
def test_shard_without_tokens(tmp_path, count):
    """No tokens at all: megatron-core cannot memory-map an empty .bin (its own limit), but reads it with
    mmap=False, and its builder writes the same bytes."""
    docs = [np.zeros(0, dtype=np.int64)] * count
    write_ours(str(tmp_path / "ours"), docs, 32000)
    write_megatron(str(tmp_path / "theirs"), docs, 32000)
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / f"theirs{suffix}").read_bytes()
    assert_megatron_reads(str(tmp_path / "ours"), docs, 32000, mmap=False)


def test_batched_writes_match_megatron(tmp_path):
    """add_batch (what the tokenize step uses) writes the same bytes as one megatron add_document per doc."""
    docs = make_docs(32000, 30, seed=11, empty_at=(3,))
    with ShardWriter(str(tmp_path / "ours"), 32000) as writer:
        for start in range(0, len(docs), 7):
            part = docs[start : start + 7]
            names = [f"d{start + i}" for i in range(len(part))]
            flat = np.concatenate(part)
            writer.add_batch(
                flat, [len(doc) for doc in part], names, ["s"] * len(part), ["general"] * len(part), [False] * len(part)
            )
    write_megatron(str(tmp_path / "theirs"), docs, 32000)
    for suffix in (".bin", ".idx"):
        assert (tmp_path / f"ours{suffix}").read_bytes() == (tmp_path / f"theirs{suffix}").read_bytes()


def test_tokenize_step_output_decodes_through_megatron(tmp_path):
    """Real tokenizer, real step: megatron-core reads each document back, BOS/EOS in place, text intact."""
    from datatrove.data import Document

    texts = [
        "Metformin lowered HbA1c by 1.2% over 24 weeks in adults with type 2 diabetes.",
        "Serum potassium was 5.8 mmol/L; the ECG showed peaked T waves.",
        "Influenza vaccination reduced hospital admissions among people over 65 years of age.",
    ]
    documents = [
        Document(text=text, id=f"pubmed:{number}", metadata={"source": "pubmed", "category": "biomedical"})
        for number, text in enumerate(texts)
    ]
    step = ShardTokenizer(str(tmp_path / "shards"), batch_size=2)
    assert len(list(step.run(iter(documents), rank=0))) == 3
    tokenizer = load_tokenizer("mistral-7b-v0.1")
    dataset = IndexedDataset(str(tmp_path / "shards" / "00000"))
    for number, text in enumerate(texts):
        ids = dataset[number].tolist()
        assert ids == tokenizer.encode_document(text)
        assert ids[0] == tokenizer.bos_id and ids[-1] == tokenizer.eos_id
        assert tokenizer.decode(ids) == text
