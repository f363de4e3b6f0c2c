"""General-domain reader: Dolma and CCNet test data, the RedPajama sample, hostile JSON lines, Parquet."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.documents import url_hash
from medcorpus.sources import reader_class
from medcorpus.sources.general import GeneralReader

SAMPLE = SAMPLES / "general" / "sample_redpajama.jsonl"
DOLMA = Path("general/dolma_test_data")
TEXT = "A plain sentence about the weather, long enough to be a document of its own for this test."


def test_registered_under_its_cli_name():
    assert reader_class("general") is GeneralReader


def test_dolma_test_data(shared_data):
    folder = shared_data / DOLMA
    docs, rejects = read_all(GeneralReader([str(folder)]))
    records = []
    for path in sorted(folder.iterdir()):
        if path.name != "LICENSE":
            with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as handle:
                records += [json.loads(line) for line in handle if line.strip()]
    with_text = [r for r in records if r["text"].strip()]
    assert len(records) == 727 and len(docs) == len(with_text) == 700
    assert Counter(reason for reason, _ in rejects) == {"no_text": 27}  # empty extractions in the CC-MAIN file
    assert [d.text for d in docs] == [r["text"] for r in with_text]  # file order, line order, text untouched
    assert [d.id for d in docs] == [f"general:general:{r['id']}" for r in with_text]
    assert len({d.id for d in docs}) == 700
    for doc, record in zip(docs, with_text):
        meta = doc.metadata
        assert (meta["source"], meta["category"], meta["license"]) == ("general", "general", "unknown")
        assert meta["original_id"] == record["id"] and meta["original_source"] == record["source"]
        assert meta["url"].startswith("http") and meta["date"] == record["created"]
    ccnet = [d for d in docs if d.metadata["original_source"] == "common-crawl"]
    assert len(ccnet) == 30 and all(d.metadata["language"] == "en" and d.metadata.get("title") for d in ccnet)
    again, _ = read_all(GeneralReader([str(folder)]))
    assert [(d.id, d.text, d.metadata) for d in again] == [(d.id, d.text, d.metadata) for d in docs]


def test_redpajama_sample():
    docs, rejects = read_all(GeneralReader([str(SAMPLE)], name="redpajama", license="CC-BY-4.0"))
    assert rejects == [] and len(docs) == 13
    key = url_hash(SAMPLE.name)
    assert [d.id for d in docs] == [f"general:redpajama:{key}:{n}" for n in range(1, 14)]
    assert all(d.metadata["source"] == "redpajama" and d.metadata["category"] == "general" for d in docs)
    assert all(d.metadata["license"] == "CC-BY-4.0" and d.metadata.get("language", "en") == "en" for d in docs)
    assert all(150 <= len(d.text.split()) <= 400 for d in docs)
    texts = Counter(d.text for d in docs)
    assert sorted(texts.values()) == [1] * 11 + [2]  # one exact duplicate for dedup to remove
    duplicate = [d for d in docs if texts[d.text] == 2]
    assert duplicate[0].metadata != duplicate[1].metadata
    sources = {d.metadata.get("original_source") for d in docs}
    assert {"c4", "stackexchange", "RedPajamaCommonCrawl"} <= sources
    assert any(d.metadata.get("title") == "Lighthouse" for d in docs)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_rejected_and_reading_goes_on(tmp_path):
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            json.dumps({"id": "a", "text": TEXT}),
            '{"id": "b", "text": "unterminated',
            "",
            "[1, 2, 3]",
            '"just a string"',
            json.dumps({"id": "c", "meta": {"url": "https://x.example"}}),
            json.dumps({"id": "d", "text": "   \n "}),
            json.dumps({"id": "e", "text": 42}),
            "\x00\x01 not json at all",
            json.dumps({"text": TEXT + " Second.", "meta": {"url": "https://y.example/page", "license": "cc-by-sa"}}),
        ],
    )
    docs, rejects = read_all(GeneralReader([str(path)]))
    key = url_hash("mixed.jsonl")
    assert [d.id for d in docs] == ["general:general:a", f"general:general:{key}:10"]
    assert docs[1].metadata["license"] == "cc-by-sa" and docs[0].metadata["license"] == "unknown"
    assert docs[1].metadata["url"] == "https://y.example/page"
    assert rejects == [
        ("bad_json", f"general:general:{key}:2"),
        ("not_object", f"general:general:{key}:4"),
        ("not_object", f"general:general:{key}:5"),
        ("no_text", f"general:general:{key}:6"),
        ("no_text", f"general:general:{key}:7"),
        ("no_text", f"general:general:{key}:8"),
        ("bad_json", f"general:general:{key}:9"),
    ]


def test_truncated_gzip_keeps_the_documents_before_the_cut(tmp_path):
    lines = [json.dumps({"id": f"doc{n}", "text": f"{TEXT} Number {n}."}) for n in range(400)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    docs, rejects = read_all(GeneralReader([str(path)]))
    assert 0 < len(docs) < 400
    assert [d.id for d in docs] == [f"general:general:doc{n}" for n in range(len(docs))]  # a clean prefix
    assert [reason for reason, _ in rejects] == ["unreadable_file:EOFError"]


def test_gzip_is_read_by_the_standard_library_whatever_fsspec_would_use(tmp_path, monkeypatch):
    """fsspec reads gzip with `isal` where that is installed, which keeps fewer records of a truncated file:
    inputs are read with the standard library's gzip either way, so a run's documents do not depend on it."""
    import fsspec.compression

    from medcorpus.paths import open_input

    def elsewhere(*args, **kwargs):
        raise AssertionError("fsspec's gzip reader was used")

    monkeypatch.setitem(fsspec.compression.compr, "gzip", elsewhere)
    path = tmp_path / "lines.jsonl.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n"))
    with open_input(str(path)) as handle:
        assert handle.read() == b"one\ntwo\n"
    test_truncated_gzip_keeps_the_documents_before_the_cut(tmp_path)


def test_ccnet_lines_json_arrays_and_text_key(tmp_path):
    ccnet = write_lines(
        tmp_path / "ccnet.json",
        [json.dumps({"url": "http://z.example/a", "raw_content": TEXT, "title": "Weather", "language": "en"})],
    )
    docs, rejects = read_all(GeneralReader([str(ccnet)], name="ccnet"))
    assert rejects == [] and docs[0].text == TEXT
    assert docs[0].id == f"general:ccnet:{url_hash('ccnet.json')}:1"
    assert docs[0].metadata["url"] == "http://z.example/a" and docs[0].metadata["title"] == "Weather"
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"id": 7, "text": TEXT}, "oops", {"id": 8, "text": TEXT + " Again."}]))
    docs, rejects = read_all(GeneralReader([str(array)]))
    assert [d.id for d in docs] == ["general:general:7", "general:general:8"]
    assert [reason for reason, _ in rejects] == ["not_object"]
    custom = write_lines(tmp_path / "custom.jsonl", [json.dumps({"content": TEXT}), json.dumps({"text": TEXT})])
    docs, rejects = read_all(GeneralReader([str(custom)], text_key="content"))
    assert [d.text for d in docs] == [TEXT] and [reason for reason, _ in rejects] == ["no_text"]


def test_compressed_inputs_and_limit(tmp_path):
    lines = [json.dumps({"text": f"{TEXT} {n}"}) for n in range(5)]
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    (tmp_path / "ignored.txt").write_text("not an input")
    assert len(list(GeneralReader([str(tmp_path)]).run())) == 10
    assert len(list(GeneralReader([str(tmp_path)], limit=3).run())) == 3


def test_zstd_input_and_corrupt_zstd(tmp_path):
    import zstandard

    path = tmp_path / "part.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(json.dumps({"text": TEXT}).encode()))
    assert [d.text for d in GeneralReader([str(path)]).run()] == [TEXT]
    broken = tmp_path / "broken.jsonl.zst"
    broken.write_bytes(b"\x28\xb5\x2f\xfd not really zstd")
    docs, rejects = read_all(GeneralReader([str(broken)]))
    assert docs == [] and len(rejects) == 1 and rejects[0][1] is None


def write_parquet(path: Path, rows: list[dict], row_group_size: int = 2) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


FINEWEB_ROWS = [
    {"text": f"{TEXT} Row {n}.", "id": f"<urn:uuid:{n}>", "url": f"https://w{n}.example/", "date": "2024-01-01"}
    for n in range(5)
] + [
    {"text": None, "id": "<urn:uuid:none>", "url": "https://none.example/", "date": None},
    {"text": "  ", "id": None, "url": None, "date": None},
]


def test_parquet_rows_are_read_like_json_lines(tmp_path):
    parquet = write_parquet(tmp_path / "000_00000.parquet", FINEWEB_ROWS)
    jsonl = write_lines(tmp_path / "same.jsonl", [json.dumps(row) for row in FINEWEB_ROWS])
    docs, rejects = read_all(GeneralReader([str(parquet)], name="fineweb", license="ODC-BY-1.0"))
    twins, twin_rejects = read_all(GeneralReader([str(jsonl)], name="fineweb", license="ODC-BY-1.0"))
    assert [d.text for d in docs] == [f"{TEXT} Row {n}." for n in range(5)] == [d.text for d in twins]
    assert [d.id for d in docs] == [f"general:fineweb:<urn:uuid:{n}>" for n in range(5)]
    assert [(d.id, d.metadata) for d in docs] == [(d.id, d.metadata) for d in twins]
    assert docs[2].metadata["url"] == "https://w2.example/" and docs[2].metadata["date"] == "2024-01-01"
    key = url_hash(parquet.name)
    assert rejects == [("no_text", f"general:fineweb:{key}:6"), ("no_text", f"general:fineweb:{key}:7")]
    assert [reason for reason, _ in twin_rejects] == ["no_text", "no_text"]


def test_parquet_text_key_folder_inputs_and_the_ledger_left_aside(tmp_path):
    write_parquet(tmp_path / "a.parquet", [{"content": TEXT, "text": "other"}])
    (tmp_path / "medcorpus-ledger.json").write_text('{\n "files": {},\n "version": 1\n}\n')
    (tmp_path / "b.jsonl").write_text(json.dumps({"content": TEXT + " B."}) + "\n")
    reader = GeneralReader([str(tmp_path)], text_key="content")
    assert [Path(f).name for f in reader.files] == ["a.parquet", "b.jsonl"]
    docs, rejects = read_all(reader)
    assert [d.text for d in docs] == [TEXT, TEXT + " B."] and rejects == []


def test_broken_parquet_is_rejected_as_unreadable(tmp_path):
    whole = write_parquet(tmp_path / "whole.parquet", FINEWEB_ROWS).read_bytes()
    (tmp_path / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    docs, rejects = read_all(GeneralReader([str(tmp_path / "cut.parquet")]))
    assert docs == [] and [reason for reason, _ in rejects] == ["unreadable_file:ArrowInvalid"]


def test_text_bytes_counts_the_text_the_reader_takes(tmp_path):
    import zstandard

    from medcorpus.sources.general import text_bytes

    parquet = write_parquet(tmp_path / "f.parquet", FINEWEB_ROWS)
    lines = "\n".join(json.dumps(row) for row in FINEWEB_ROWS) + "\n"
    zst = tmp_path / "f.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    expected = sum(len(row["text"].encode()) for row in FINEWEB_ROWS if row["text"] is not None)
    assert text_bytes(str(parquet)) == text_bytes(str(zst)) == (6, expected)
    unicode = write_lines(tmp_path / "u.jsonl", [json.dumps({"raw_content": "é" * 10}), "not json"])
    assert text_bytes(str(unicode)) == (1, 20)  # CCNet's raw_content, UTF-8 bytes, bad lines skipped
    with pytest.raises(ValueError, match="no 'body' column"):
        text_bytes(str(parquet), "body")
    with pytest.raises(ValueError, match="no record of f.jsonl.zst has text under 'body'"):
        text_bytes(str(zst), "body")


def test_json_files_hold_one_value_or_json_lines(tmp_path):
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps({"id": "p1", "text": "One record over several lines."}, indent=2))
    lines = write_lines(tmp_path / "lines.json", [json.dumps({"id": f"l{i}", "text": f"Line {i}."}) for i in range(3)])
    documents, rejects = read_all(GeneralReader([str(pretty), str(lines)]))
    assert [d.id for d in documents] == [f"general:general:l{i}" for i in range(3)] + ["general:general:p1"]
    assert not rejects


def test_the_download_ledger_is_never_an_input(tmp_path):
    from medcorpus.paths import InputError, expand_inputs

    write_lines(tmp_path / "a.jsonl", [json.dumps({"text": "A document."})])
    (tmp_path / "medcorpus-ledger.json").write_text("{}")
    assert expand_inputs([str(tmp_path)], (".jsonl", ".json")) == [str(tmp_path / "a.jsonl")]
    assert expand_inputs([str(tmp_path / "*.json*")]) == [str(tmp_path / "a.jsonl")]
    (tmp_path / "a.jsonl").unlink()
    with pytest.raises(InputError, match="matches no files"):
        expand_inputs([str(tmp_path)], (".json",))


def test_each_reject_is_traced_once_by_an_exclusion_row_or_else_a_debug_line(tmp_path):
    """With an exclusion writer a rejected record's trace is its row (id, file, reason); without one, a debug line.
    Either way the file's summary line is logged at warning level."""
    from datatrove.utils.logging import logger

    from medcorpus.io.formats import make_writer
    from medcorpus.run.counts import read_exclusions

    path = write_lines(tmp_path / "two_bad.jsonl", [json.dumps({"id": "a", "text": TEXT}), "{broken", "[1]"])
    for excluded in (None, tmp_path / "excluded"):
        lines: list[tuple[str, str]] = []
        sink = logger.add(lambda m, to=lines: to.append((m.record["level"].name, m.record["message"])), level="DEBUG")
        try:
            writer = make_writer(str(excluded)) if excluded else None
            docs = list(GeneralReader([str(path)], exclusion_writer=writer).run())
        finally:
            logger.remove(sink)
        assert len(docs) == 1
        debug = [message for level, message in lines if level == "DEBUG" and "skipped a record" in message]
        warnings = [message for level, message in lines if level == "WARNING" and "two_bad.jsonl" in message]
        assert len(warnings) == 1 and "bad_json 1" in warnings[0] and "not_object 1" in warnings[0]
        if excluded is None:
            assert len(debug) == 2 and all("two_bad.jsonl" in message for message in debug)
        else:
            assert debug == []
            assert read_exclusions(excluded) == {"general": {"bad_json": 1, "not_object": 1}}
