"""Hub downloads against a fake Hub on a local server: pages, sha256, resume, ledger, budgets, unsafe paths, CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner
from support.helpers import read_all
from support.http_fixture import Fault
from support.hub_fixture import serve_hub

from medcorpus.cli.download import general_download
from medcorpus.sources.download.hub import (
    DEFAULT_ENDPOINT,
    download,
    endpoint_url,
    estimate_tokens,
    list_files,
    list_root,
    unsafe_path,
)
from medcorpus.sources.download.mirror import LEDGER_NAME, Downloader, MirrorError
from medcorpus.sources.download.replay_sets import PRESETS
from medcorpus.sources.general import GeneralReader

REPO = "HuggingFaceFW/fineweb"
SAMPLE = [f"sample/10BT/{n:03d}_00000.parquet" for n in range(3)]
SENTENCE = "Replay text from the general web, long enough to be a document of its own here."


def rows(file: int, count: int = 6) -> list[dict]:
    """Distinct FineWeb-like rows; file n's texts grow with n so each file has its own token count."""
    return [
        {"text": f"{SENTENCE} File {file} row {r}. " + "word " * (20 * (file + 1)), "id": f"<urn:uuid:{file}-{r}>"}
        for r in range(count)
    ]


def file_tokens(file: int) -> int:
    return estimate_tokens(sum(len(row["text"].encode()) for row in rows(file)))


@pytest.fixture
def hub(tmp_path):
    """A fake Hub serving HuggingFaceFW/fineweb: three 10BT parquet files, one 100BT file, a README."""
    root = tmp_path / "hub"
    for number, name in enumerate(SAMPLE):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows(number)), root / name, row_group_size=4)
    (root / "sample/100BT").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows(9)), root / "sample/100BT/000_00000.parquet")
    (root / "README.md").write_text("# fake fineweb\n")
    with serve_hub(root, REPO) as server:
        yield server, root


def get(server, dest: Path, patterns=("sample/10BT/*.parquet",), **options):
    sleeps: list[float] = []
    report = download(REPO, dest, list(patterns), endpoint=server.url, sleep=sleeps.append, **options)
    return report, sleeps


def fetched_files(server) -> list[str]:
    return sorted(r.path for r in server.log if r.method == "GET" and r.path.startswith("/sample/"))


def test_helpers_paths_roots_and_the_estimate(monkeypatch):
    assert [unsafe_path(p) is None for p in ("a.parquet", "sample/10BT/x.parquet", "a..b/c.jsonl")] == [True] * 3
    bad = ["../x", "/etc/passwd", "a/../../x", "a//b", "./a", "a\\b", "C:x", "", LEDGER_NAME, "x.parquet.part"]
    assert all(unsafe_path(p) for p in bad)
    assert list_root(["train/chunk*/*.jsonl.zst"]) == "train" and list_root(["*.jsonl"]) == ""
    assert list_root(["sample/10BT/*.parquet", "sample/100BT/*.parquet"]) == "sample"
    assert (estimate_tokens(0), estimate_tokens(1), estimate_tokens(8), estimate_tokens(9)) == (0, 1, 2, 3)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert endpoint_url() == DEFAULT_ENDPOINT == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.example/")
    assert endpoint_url() == "http://mirror.example" and endpoint_url("http://given") == "http://given"
    fineweb = PRESETS["fineweb-edu-sample-10bt"]
    assert (fineweb.repo, fineweb.include, fineweb.format) == (
        "HuggingFaceFW/fineweb-edu",
        ("sample/10BT/*.parquet",),
        "parquet",
    )


def test_listing_follows_every_page_and_reads_lfs_sha256(hub, tmp_path):
    server, root = hub
    job = Downloader(server.url, tmp_path, sleep=lambda _: None)
    files = {f.path: f for f in list_files(job, server.url.rstrip("/"), REPO, "main")}
    assert sorted(files) == ["README.md", "sample/100BT/000_00000.parquet", *SAMPLE]
    assert server.tree_pages() == 4  # 3 folders + 5 files, two entries a page
    data = (root / SAMPLE[1]).read_bytes()
    assert (files[SAMPLE[1]].sha256, files[SAMPLE[1]].size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert files["README.md"].sha256 is None and files["README.md"].size == 15
    server.log.clear()
    assert [f.path for f in list_files(job, server.url.rstrip("/"), REPO, "main", "sample/10BT")] == SAMPLE
    assert server.tree_pages() == 2


def test_download_checks_sha256_keeps_paths_and_records(hub, tmp_path, monkeypatch):
    server, root = hub
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    report, sleeps = get(server, tmp_path / "dest")
    dest = tmp_path / "dest"
    assert [(r.name, r.status, r.verified) for r in report.files] == [(n, "downloaded", "sha256") for n in SAMPLE]
    assert all((dest / n).read_bytes() == (root / n).read_bytes() for n in SAMPLE) and sleeps == []
    assert not list(dest.rglob("*.part")) and not (dest / "sample/100BT").exists() and not (dest / "README.md").exists()
    ledger = json.loads((dest / LEDGER_NAME).read_text())["files"]
    assert sorted(ledger) == SAMPLE and ledger[SAMPLE[0]]["verified"] == "sha256"
    assert ledger[SAMPLE[0]]["sha256"] == hashlib.sha256((root / SAMPLE[0]).read_bytes()).hexdigest()
    assert ledger[SAMPLE[0]]["url"] == f"{server.url}datasets/{REPO}/resolve/main/{SAMPLE[0]}"
    assert {r.authorization for r in server.log} == {"Bearer hf_secret"}  # API, resolve and the redirect target
    assert "hf_secret" not in (dest / LEDGER_NAME).read_text()
    assert len(server.requests(f"/datasets/{REPO}/resolve/main/{SAMPLE[0]}")) == 1


def test_corrupted_file_is_rejected_and_not_left_in_place(hub, tmp_path):
    server, _ = hub
    server.faults[f"/{SAMPLE[1]}"] = Fault(corrupt_first=99)
    report, sleeps = get(server, tmp_path / "dest", retries=1)
    dest = tmp_path / "dest"
    assert [r.status for r in report.files] == ["downloaded", "failed", "downloaded"] and sleeps == [2.0]
    assert "sha256 mismatch" in report.files[1].reason and "gave up after 2 attempts" in report.files[1].reason
    assert not (dest / SAMPLE[1]).exists() and not (dest / f"{SAMPLE[1]}.part").exists()
    assert sorted(json.loads((dest / LEDGER_NAME).read_text())["files"]) == [SAMPLE[0], SAMPLE[2]]


def test_a_wrong_published_digest_fails_every_attempt(hub, tmp_path):
    server, _ = hub
    server.published[SAMPLE[0]] = "0" * 64
    report, _ = get(server, tmp_path / "dest", retries=0, max_files=1)
    assert report.files[0].status == "failed" and f"expected {'0' * 64}" in report.files[0].reason
    assert not (tmp_path / "dest" / SAMPLE[0]).exists()


def test_partial_file_is_resumed_with_range(hub, tmp_path):
    server, root = hub
    data, dest = (root / SAMPLE[0]).read_bytes(), tmp_path / "dest"
    (dest / "sample/10BT").mkdir(parents=True)
    (dest / f"{SAMPLE[0]}.part").write_bytes(data[:100])
    report, _ = get(server, dest, max_files=1)
    assert [r.range for r in server.requests(f"/{SAMPLE[0]}")] == ["bytes=100-"]
    assert (dest / SAMPLE[0]).read_bytes() == data and report.files[0].fetched == len(data) - 100
    assert not (dest / f"{SAMPLE[0]}.part").exists()


def test_rerun_fetches_nothing_it_holds(hub, tmp_path):
    server, root = hub
    get(server, tmp_path / "dest")
    server.log.clear()
    report, _ = get(server, tmp_path / "dest")
    assert [(r.status, r.reason) for r in report.files] == [("skipped", "already verified")] * 3
    assert report.bytes_fetched == 0 and fetched_files(server) == [] and server.tree_pages() == 2
    (tmp_path / "dest" / SAMPLE[2]).write_bytes(b"damaged on disk")
    report, _ = get(server, tmp_path / "dest")
    assert [r.status for r in report.files] == ["skipped", "skipped", "downloaded"]
    assert (tmp_path / "dest" / SAMPLE[2]).read_bytes() == (root / SAMPLE[2]).read_bytes()


def test_max_files_takes_the_first_paths_in_order(hub, tmp_path):
    server, _ = hub
    report, _ = get(server, tmp_path / "dest", patterns=["sample/*/*.parquet"], max_files=2)
    assert [r.name for r in report.files] == ["sample/100BT/000_00000.parquet", SAMPLE[0]]
    assert fetched_files(server) == ["/sample/100BT/000_00000.parquet", f"/{SAMPLE[0]}"]


def test_max_tokens_stops_once_the_estimate_reaches_the_budget(hub, tmp_path):
    server, _ = hub
    budget = file_tokens(0) + 1
    report, _ = get(server, tmp_path / "dest", max_tokens=budget)
    assert [r.name for r in report.files] == SAMPLE[:2] and fetched_files(server) == [f"/{n}" for n in SAMPLE[:2]]
    assert [r.tokens for r in report.files] == [file_tokens(0), file_tokens(1)]
    assert report.tokens == file_tokens(0) + file_tokens(1) and report.budget_reached
    ledger = json.loads((tmp_path / "dest" / LEDGER_NAME).read_text())["files"]
    assert ledger[SAMPLE[0]]["text_bytes"] == sum(len(row["text"].encode()) for row in rows(0))
    server.log.clear()
    again, _ = get(server, tmp_path / "dest", max_tokens=budget)
    assert [(r.name, r.status, r.tokens) for r in again.files] == [(r.name, "skipped", r.tokens) for r in report.files]
    assert fetched_files(server) == []
    more, _ = get(server, tmp_path / "dest", max_tokens=10**9)
    assert [r.status for r in more.files] == ["skipped", "skipped", "downloaded"] and not more.budget_reached
    assert more.tokens == sum(file_tokens(n) for n in range(3))


def test_a_file_without_the_text_field_stops_a_budgeted_run(hub, tmp_path):
    server, _ = hub
    report, _ = get(server, tmp_path / "dest", max_tokens=10**9, text_key="body")
    assert [r.status for r in report.files] == ["failed"] and "no 'body' column" in report.files[0].reason
    assert "verified, but its tokens cannot be estimated" in report.files[0].reason


def test_unsafe_listed_paths_are_never_written(hub, tmp_path):
    server, _ = hub
    entry = {"type": "file", "oid": "1" * 40, "size": 4, "lfs": {"oid": "2" * 64, "size": 4}}
    bad = ["../evil.parquet", "/abs.parquet", "sample/10BT/../../../up.parquet", LEDGER_NAME]
    server.extra = [{**entry, "path": path} for path in bad]
    report, _ = get(server, tmp_path / "dest", patterns=["*.parquet", "*.json"])
    failed = {r.name: r.reason for r in report.failed}
    assert sorted(failed) == sorted(bad) and all("in the listing; not written" in why for why in failed.values())
    assert "'..'" in failed["../evil.parquet"] and "absolute" in failed["/abs.parquet"]
    assert len(report.with_status("downloaded")) == 4
    assert not (tmp_path / "evil.parquet").exists() and not (tmp_path / "up.parquet").exists()
    assert not any("evil" in r.path or "abs" in r.path or "up.parquet" in r.path for r in server.log)


def test_listing_errors_and_bad_arguments(hub, tmp_path):
    server, _ = hub
    with pytest.raises(MirrorError, match="cannot list HuggingFaceFW/fineweb@v9: HTTP 404"):
        get(server, tmp_path / "d", revision="v9")
    with pytest.raises(ValueError, match="not a Hub dataset id"):
        download("../../etc", tmp_path / "d", ["*"], endpoint=server.url)
    (tmp_path / "file").write_text("x")
    with pytest.raises(MirrorError, match="not a folder"):
        get(server, tmp_path / "file")


def test_dry_run_lists_only(hub, tmp_path):
    server, _ = hub
    report, _ = get(server, tmp_path / "dest", patterns=["*"], dry_run=True)
    assert [(r.name, r.status, r.verified) for r in report.files][:1] == [("README.md", "planned", "size-only")]
    assert [r.verified for r in report.files[1:]] == ["sha256"] * 4
    assert not (tmp_path / "dest").exists() and fetched_files(server) == []


def test_cli_end_to_end_then_the_reader_reads_the_parquet(hub, tmp_path, monkeypatch):
    server, _ = hub
    out = tmp_path / "out"
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    args = ["--preset", "fineweb-sample-10bt", "-o", str(out)]
    result = CliRunner().invoke(general_download, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{SAMPLE[0]}  (sha256 check)" in result.output and "dry run: 3 files selected" in result.output
    result = CliRunner().invoke(general_download, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("downloaded 3, skipped 0 (already verified), failed 0;")
    result = CliRunner().invoke(general_download, [*args, "--max-tokens", "1"])
    assert result.exit_code == 0 and result.output.startswith("downloaded 0, skipped 1 (already verified)")
    assert f"about {file_tokens(0):,} tokens (UTF-8 bytes / 4), budget 1 reached" in result.output
    docs, rejects = read_all(GeneralReader([str(out)], name="fineweb"))
    assert rejects == [] and [d.text for d in docs] == [row["text"] for n in range(3) for row in rows(n)]
    assert docs[0].id == "general:fineweb:<urn:uuid:0-0>"
    server.faults[f"/{SAMPLE[0]}"] = Fault(corrupt_first=99)
    (out / SAMPLE[0]).unlink()
    result = CliRunner().invoke(general_download, [*args, "--retries", "0"])
    assert result.exit_code == 1 and f"failed: {SAMPLE[0]}: sha256 mismatch" in result.output


def test_cli_usage_errors_exit_2(hub, tmp_path):
    server, _ = hub
    out = ["-o", str(tmp_path / "o"), "--endpoint", server.url]
    for args in ([], ["--preset", "slimpajama", "--repo", REPO], ["--repo", REPO]):
        result = CliRunner().invoke(general_download, [*out, *args])
        assert result.exit_code == 2, args
    result = CliRunner().invoke(general_download, [*out, "--repo", REPO, "--include", "*", "--revision", "v9"])
    assert result.exit_code == 2 and "error: cannot list" in result.output


def test_cli_jsonl_zst_preset_and_the_reader(tmp_path):
    root, compressor = tmp_path / "hub", zstandard.ZstdCompressor()
    names = [
        "train/chunk1/example_train_0.jsonl.zst",
        "train/chunk1/example_train_1.jsonl.zst",
        "validation/x.jsonl.zst",
    ]
    for number, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        lines = [
            json.dumps({"text": f"{SENTENCE} {number}.{k}", "meta": {"redpajama_set_name": "RedPajamaC4"}})
            for k in range(3)
        ]
        (root / name).write_bytes(compressor.compress(("\n".join(lines) + "\n").encode()))
    with serve_hub(root, "cerebras/SlimPajama-627B") as server:
        out = tmp_path / "out"
        result = CliRunner().invoke(
            general_download, ["--preset", "slimpajama", "-o", str(out), "--endpoint", server.url]
        )
        assert result.exit_code == 0 and result.output.startswith("downloaded 2,"), result.output
    docs, rejects = read_all(GeneralReader([str(out)], name="slimpajama"))
    assert rejects == [] and len(docs) == 6 and {d.metadata["original_source"] for d in docs} == {"RedPajamaC4"}
    assert not (out / "validation").exists()
