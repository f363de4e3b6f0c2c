"""The bulk downloader against a local HTTP server: listing, resume, md5/size checks, retries, ledger, CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.http_fixture import Fault, serve

from medcorpus import __version__
from medcorpus.cli.download import pmc_download, pubmed_download
from medcorpus.sources.download.mirror import LEDGER_NAME, MirrorError, mirror, parse_listing, parse_md5, select
from medcorpus.sources.download.ncbi import PMC_OA_BULK_ROOT, PUBMED_ROOT, pmc_sources, pubmed_sources

PUBMED = ["pubmed25n0001.xml.gz", "pubmed25n0002.xml.gz", "pubmed25n0003.xml.gz"]


def fake_gz(name: str, articles: int = 40) -> bytes:
    """A small, distinct gzip file of a few KB (fixed mtime and content: the same bytes every time)."""
    ids = (hashlib.sha256(f"{name}-{index}".encode()).hexdigest() for index in range(articles))
    xml = "<PubmedArticleSet>" + "".join(f"<PubmedArticle id='{i}'/>" for i in ids) + "</PubmedArticleSet>"
    return gzip.compress(xml.encode(), mtime=0)


def publish(folder: Path, name: str, data: bytes, md5: str | None = "bsd") -> None:
    """Put `data` in `folder` with a `.md5` beside it in the OpenSSL ("bsd") or coreutils form, or none."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    digest = hashlib.md5(data).hexdigest()
    if md5 == "bsd":
        (folder / f"{name}.md5").write_text(f"MD5({name})= {digest}\n")
    elif md5 == "gnu":
        (folder / f"{name}.md5").write_text(f"{digest}  {name}\n")


@pytest.fixture
def remote(tmp_path):
    """A server for tmp_path/remote holding three PubMed-like files with .md5 files and one other file."""
    root = tmp_path / "remote"
    for index, name in enumerate(PUBMED):
        publish(root, name, fake_gz(name), md5="gnu" if index == 1 else "bsd")
    (root / "README.txt").write_text("not selected")
    with serve(root) as server:
        yield server, root


def run(server, dest: Path, **options):
    sleeps: list[float] = []
    report = mirror(server.url, dest, ["pubmed*.xml.gz"], sleep=sleeps.append, **options)
    return report, sleeps


def test_parse_listing_keeps_only_files_of_this_folder():
    page = """<a href="?C=N;O=D">Name</a> <a href="../">Parent</a> <a href="sub/">sub/</a>
    <a href="pubmed25n0001.xml.gz">x</a> <a href="pubmed25n0001.xml.gz.md5">x</a>
    <a href="/pubmed/baseline/pubmed25n0002.xml.gz">abs</a> <a href="http://other.example/pubmed/baseline/evil.gz">o</a>
    <a href="a%2Bb.txt">q</a> <a href="#top">t</a> <a href="/elsewhere/x.gz">e</a> <a href=".hidden">h</a>"""
    names = parse_listing(page, "https://ftp.example/pubmed/baseline/")
    assert names == ["a+b.txt", "pubmed25n0001.xml.gz", "pubmed25n0001.xml.gz.md5", "pubmed25n0002.xml.gz"]


def test_parse_md5_accepts_openssl_coreutils_and_bare_forms():
    digest = "0123456789abcdef0123456789ABCDEF"
    assert parse_md5(f"MD5(pubmed25n0001.xml.gz)= {digest}\n", "pubmed25n0001.xml.gz") == digest.lower()
    assert parse_md5(f"{digest}  pubmed25n0001.xml.gz", "pubmed25n0001.xml.gz") == digest.lower()
    assert parse_md5(f"{digest} *dir/pubmed25n0001.xml.gz", "pubmed25n0001.xml.gz") == digest.lower()
    assert parse_md5(digest, "x.gz") == digest.lower()
    assert parse_md5(f"MD5(other.xml.gz)= {digest}", "pubmed25n0001.xml.gz") is None
    assert parse_md5("<html>not found</html>", "pubmed25n0001.xml.gz") is None


def test_ncbi_locations_select_the_published_names():
    baseline, updates = pubmed_sources("all")
    assert baseline.url == PUBMED_ROOT + "baseline/" == "https://ftp.ncbi.nlm.nih.gov/pubmed/baseline/"
    assert (updates.url, updates.subfolder) == (PUBMED_ROOT + "updatefiles/", "updatefiles")
    names = ["pubmed25n0001.xml.gz", "pubmed25n0001.xml.gz.md5", "README.txt", "stats.html"]
    assert select(names, baseline.patterns) == ["pubmed25n0001.xml.gz"]
    (comm,) = pmc_sources(["oa_comm"], "baseline")
    assert comm.url == PMC_OA_BULK_ROOT + "oa_comm/xml/" == "https://ftp.ncbi.nlm.nih.gov/pub/pmc/oa_bulk/oa_comm/xml/"
    listed = [
        "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.tar.gz",
        "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.filelist.csv",
        "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.filelist.txt",
        "oa_comm_xml.incr.2025-07-01.tar.gz",
        "oa_noncomm_xml.incr.2025-07-01.tar.gz",
    ]
    assert select(listed, comm.patterns) == sorted(listed[:3])
    (incr,) = pmc_sources(["oa_comm"], "incr", base_url="http://mirror.example/pmc")
    assert incr.url == "http://mirror.example/pmc/oa_comm/xml/"
    assert select(listed, incr.patterns) == ["oa_comm_xml.incr.2025-07-01.tar.gz"]
    assert [s.subfolder for s in pmc_sources(["oa_other", "oa_comm"], "all")] == ["oa_other", "oa_comm"]
    with pytest.raises(ValueError):
        pmc_sources(["oa_everything"])
    with pytest.raises(ValueError):
        pubmed_sources("yearly")
    assert select(PUBMED, ["pubmed*.xml.gz"], max_files=2) == PUBMED[:2]


def test_mirror_downloads_verifies_and_records(remote, tmp_path):
    server, root = remote
    report, sleeps = run(server, tmp_path / "dest")
    assert [(r.name, r.status, r.verified) for r in report.files] == [(n, "downloaded", "md5") for n in PUBMED]
    dest = tmp_path / "dest"
    for name in PUBMED:
        assert (dest / name).read_bytes() == (root / name).read_bytes()
        assert (dest / f"{name}.md5").read_bytes() == (root / f"{name}.md5").read_bytes()
    assert not list(dest.glob("*.part")) and not (dest / "README.txt").exists()
    ledger = json.loads((dest / LEDGER_NAME).read_text())["files"]
    assert sorted(ledger) == PUBMED
    assert ledger[PUBMED[0]]["md5"] == hashlib.md5((root / PUBMED[0]).read_bytes()).hexdigest()
    assert ledger[PUBMED[0]]["verified"] == "md5" and ledger[PUBMED[0]]["size"] == (root / PUBMED[0]).stat().st_size
    assert report.bytes_fetched == sum((root / name).stat().st_size for name in PUBMED)
    assert sleeps == [] and all(r.user_agent.startswith(f"medcorpus/{__version__} ") for r in server.log)


def test_rerun_fetches_no_verified_file(remote, tmp_path):
    server, _ = remote
    run(server, tmp_path / "dest")
    server.log.clear()
    report, _ = run(server, tmp_path / "dest")
    assert [r.status for r in report.files] == ["skipped"] * 3 and report.bytes_fetched == 0
    assert sorted(server.gets()) == sorted(["/", *(f"/{name}.md5" for name in PUBMED)])


def test_files_on_disk_without_ledger_are_hashed_not_fetched(remote, tmp_path):
    server, root = remote
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / PUBMED[0]).write_bytes((root / PUBMED[0]).read_bytes())
    (dest / PUBMED[1]).write_bytes(b"stale copy")
    report, _ = run(server, dest)
    assert [(r.status, r.reason) for r in report.files][:2] == [
        ("skipped", "verified file already on disk"),
        ("downloaded", ""),
    ]
    assert f"/{PUBMED[0]}" not in server.gets() and (dest / PUBMED[1]).read_bytes() == (root / PUBMED[1]).read_bytes()
    assert sorted(json.loads((dest / LEDGER_NAME).read_text())["files"]) == PUBMED


def test_a_republished_file_is_fetched_again(remote, tmp_path):
    server, root = remote
    run(server, tmp_path / "dest")
    publish(root, PUBMED[2], fake_gz("changed", 40))
    report, _ = run(server, tmp_path / "dest")
    assert [r.status for r in report.files] == ["skipped", "skipped", "downloaded"]
    assert (tmp_path / "dest" / PUBMED[2]).read_bytes() == (root / PUBMED[2]).read_bytes()


def test_partial_file_is_resumed_with_a_range_request(remote, tmp_path):
    server, root = remote
    data, dest = (root / PUBMED[0]).read_bytes(), tmp_path / "dest"
    dest.mkdir()
    (dest / f"{PUBMED[0]}.part").write_bytes(data[:100])
    report, _ = run(server, dest, max_files=1)
    assert [r.range for r in server.requests(f"/{PUBMED[0]}")] == ["bytes=100-"]
    assert (dest / PUBMED[0]).read_bytes() == data and report.files[0].fetched == len(data) - 100
    assert not (dest / f"{PUBMED[0]}.part").exists()


def test_whole_partial_file_is_verified_not_fetched_again(remote, tmp_path):
    server, root = remote
    data, dest = (root / PUBMED[0]).read_bytes(), tmp_path / "dest"
    dest.mkdir()
    (dest / f"{PUBMED[0]}.part").write_bytes(data)
    report, _ = run(server, dest, max_files=1)
    assert [(r.range, r.status) for r in server.requests(f"/{PUBMED[0]}")] == [(f"bytes={len(data)}-", 416)]
    assert (dest / PUBMED[0]).read_bytes() == data and (report.files[0].status, report.files[0].fetched) == (
        "downloaded",
        0,
    )


def test_unreadable_ledger_means_rehashing_not_refetching(remote, tmp_path):
    server, _ = remote
    run(server, tmp_path / "dest")
    (tmp_path / "dest" / LEDGER_NAME).write_text("{broken")
    server.log.clear()
    report, _ = run(server, tmp_path / "dest")
    assert {r.reason for r in report.files} == {"verified file already on disk"} and report.bytes_fetched == 0
    assert sorted(json.loads((tmp_path / "dest" / LEDGER_NAME).read_text())["files"]) == PUBMED


def test_corrupt_partial_file_fails_md5_and_is_fetched_whole(remote, tmp_path):
    server, root = remote
    data, dest = (root / PUBMED[0]).read_bytes(), tmp_path / "dest"
    dest.mkdir()
    (dest / f"{PUBMED[0]}.part").write_bytes(b"\0" * 100)
    report, sleeps = run(server, dest, max_files=1)
    assert [r.range for r in server.requests(f"/{PUBMED[0]}")] == ["bytes=100-", None]
    assert (dest / PUBMED[0]).read_bytes() == data and report.files[0].status == "downloaded" and sleeps == [2.0]


def test_server_without_range_support_restarts_from_zero(tmp_path):
    root, dest = tmp_path / "remote", tmp_path / "dest"
    data = fake_gz(PUBMED[0])
    publish(root, PUBMED[0], data)
    dest.mkdir()
    (dest / f"{PUBMED[0]}.part").write_bytes(b"garbage from an older version of the file")
    with serve(root, ranges=False) as server:
        report, sleeps = run(server, dest)
    assert [(r.range, r.status) for r in server.requests(f"/{PUBMED[0]}")] == [("bytes=41-", 200)]
    assert (dest / PUBMED[0]).read_bytes() == data and report.files[0].status == "downloaded" and sleeps == []


def test_transient_errors_and_timeouts_are_retried_with_backoff(remote, tmp_path):
    server, root = remote
    server.faults[f"/{PUBMED[0]}"] = Fault(fail_first=2, status=503)
    server.faults[f"/{PUBMED[1]}"] = Fault(fail_first=1, status=429, retry_after=7)
    server.faults[f"/{PUBMED[2]}"] = Fault(stall_first=1, stall=1.0)
    report, sleeps = run(server, tmp_path / "dest", workers=1, timeout=0.3)
    assert [r.status for r in report.files] == ["downloaded"] * 3
    assert sleeps == [2.0, 4.0, 7.0, 2.0]
    assert all((tmp_path / "dest" / n).read_bytes() == (root / n).read_bytes() for n in PUBMED)


def test_truncated_body_is_resumed_where_it_broke(remote, tmp_path):
    server, root = remote
    server.faults[f"/{PUBMED[0]}"] = Fault(truncate_first=1, truncate_at=150)
    report, sleeps = run(server, tmp_path / "dest", max_files=1)
    assert [r.range for r in server.requests(f"/{PUBMED[0]}")] == [None, "bytes=150-"]
    assert (tmp_path / "dest" / PUBMED[0]).read_bytes() == (root / PUBMED[0]).read_bytes() and sleeps == [2.0]
    assert report.files[0].fetched == (root / PUBMED[0]).stat().st_size


def test_md5_mismatch_is_retried_then_reported_while_others_complete(remote, tmp_path):
    server, root = remote
    server.faults[f"/{PUBMED[0]}"] = Fault(corrupt_first=1)
    server.faults[f"/{PUBMED[1]}"] = Fault(corrupt_first=99)
    report, sleeps = run(server, tmp_path / "dest", retries=2)
    dest = tmp_path / "dest"
    assert [r.status for r in report.files] == ["downloaded", "failed", "downloaded"]
    assert "md5 mismatch" in report.failed[0].reason and "3 attempts" in report.failed[0].reason
    assert len(server.requests(f"/{PUBMED[1]}")) == 3 and len(sleeps) == 3
    assert not (dest / PUBMED[1]).exists() and not (dest / f"{PUBMED[1]}.part").exists()
    assert sorted(json.loads((dest / LEDGER_NAME).read_text())["files"]) == [PUBMED[0], PUBMED[2]]
    assert (dest / PUBMED[0]).read_bytes() == (root / PUBMED[0]).read_bytes()


def test_missing_file_fails_without_retries(remote, tmp_path):
    server, root = remote
    server.faults[f"/{PUBMED[2]}"] = Fault(fail_first=99, status=404)
    report, sleeps = run(server, tmp_path / "dest")
    assert [r.status for r in report.files] == ["downloaded", "downloaded", "failed"] and sleeps == []
    assert "HTTP 404" in report.files[2].reason


def test_size_only_verification_without_md5(tmp_path):
    root, dest = tmp_path / "remote", tmp_path / "dest"
    for name in PUBMED[:2]:
        publish(root, name, fake_gz(name), md5=None)
    with serve(root) as server:
        server.faults[f"/{PUBMED[1]}"] = Fault(truncate_first=1, truncate_at=64)
        report, _ = run(server, dest)
        assert [(r.status, r.verified, r.md5) for r in report.files] == [("downloaded", "size-only", None)] * 2
        ledger = json.loads((dest / LEDGER_NAME).read_text())["files"]
        assert {entry["verified"] for entry in ledger.values()} == {"size-only"}
        assert all(entry["md5"] is None for entry in ledger.values())
        assert (dest / PUBMED[1]).read_bytes() == (root / PUBMED[1]).read_bytes()
        server.log.clear()
        again, _ = run(server, dest)
        assert [r.status for r in again.files] == ["skipped", "skipped"] and server.gets() == ["/"]
        assert len(server.requests(f"/{PUBMED[0]}", "HEAD")) == 1


def test_concurrency_is_bounded_by_workers(tmp_path):
    root = tmp_path / "remote"
    for number in range(6):
        publish(root, f"pubmed25n{number:04d}.xml.gz", fake_gz(str(number), 20))
    for workers in (1, 2):
        with serve(root, delay=0.03) as server:
            report, _ = run(server, tmp_path / f"dest{workers}", workers=workers)
            assert len(report.with_status("downloaded")) == 6
            assert server.max_active == workers


def test_unusable_listing_or_destination_raises(remote, tmp_path):
    server, _ = remote
    with pytest.raises(MirrorError, match="cannot list"):
        mirror(server.url + "nowhere/", tmp_path / "dest", ["*"], sleep=lambda _: None)
    server.faults["/"] = Fault(fail_first=99)
    with pytest.raises(MirrorError, match="gave up after 3 attempts"):
        mirror(server.url, tmp_path / "dest", ["*"], retries=2, sleep=lambda _: None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(MirrorError, match="not a folder"):
        mirror(server.url, tmp_path / "file", ["*"])


def test_dry_run_writes_nothing(remote, tmp_path):
    server, _ = remote
    report, _ = run(server, tmp_path / "dest", dry_run=True, max_files=2)
    assert [(r.name, r.status, r.verified) for r in report.files] == [(n, "planned", "md5") for n in PUBMED[:2]]
    assert not (tmp_path / "dest").exists() and server.gets() == ["/"]


@pytest.fixture
def ncbi_tree(tmp_path):
    """A served copy of NLM's layout: pubmed/{baseline,updatefiles}/ and pmc oa_bulk/{subset}/xml/."""
    root = tmp_path / "ncbi"
    for name in PUBMED[:2]:
        publish(root / "pubmed" / "baseline", name, fake_gz(name))
    publish(root / "pubmed" / "updatefiles", "pubmed25n1275.xml.gz", fake_gz("update"))
    for subset in ("oa_comm", "oa_other"):
        folder = root / "oa_bulk" / subset / "xml"
        for stem in (f"{subset}_xml.PMC000xxxxxx.baseline.2025-06-26", f"{subset}_xml.incr.2025-07-01"):
            publish(folder, f"{stem}.tar.gz", fake_gz(stem), md5=None)
            publish(folder, f"{stem}.filelist.csv", b"Article File,AccessionID\n", md5=None)
    with serve(root) as server:
        yield server, root


def test_pubmed_cli_downloads_then_skips_and_reports_failures(ncbi_tree, tmp_path):
    server, root = ncbi_tree
    args = ["-o", str(tmp_path / "out"), "--base-url", server.url + "pubmed", "--kind", "all"]
    result = CliRunner().invoke(pubmed_download, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("downloaded 3, skipped 0 (already verified), failed 0;")
    assert (tmp_path / "out/updatefiles/pubmed25n1275.xml.gz").read_bytes() == fake_gz("update")
    assert (tmp_path / "out/baseline/pubmed25n0002.xml.gz.md5").is_file()
    result = CliRunner().invoke(pubmed_download, args)
    assert result.exit_code == 0 and result.output.startswith("downloaded 0, skipped 3 (already verified), failed 0")
    publish(root / "pubmed" / "updatefiles", "pubmed25n1276.xml.gz", fake_gz("next"))
    server.faults["/pubmed/updatefiles/pubmed25n1276.xml.gz"] = Fault(fail_first=9)
    result = CliRunner().invoke(pubmed_download, [*args, "--retries", "0"])
    assert result.exit_code == 1 and "failed 1" in result.output
    assert "failed: updatefiles/pubmed25n1276.xml.gz: HTTP 503" in result.output


def test_pubmed_cli_errors_exit_2(ncbi_tree, tmp_path):
    server, _ = ncbi_tree
    result = CliRunner().invoke(pubmed_download, ["-o", str(tmp_path / "o"), "--base-url", server.url])
    assert result.exit_code == 2 and "error: cannot list" in result.output and "HTTP 404" in result.output
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(pubmed_download, ["-o", str(tmp_path / "file"), "--base-url", server.url + "pubmed"])
    assert result.exit_code == 2


def test_pmc_cli_subsets_kinds_size_only_and_dry_run(ncbi_tree, tmp_path):
    server, _ = ncbi_tree
    base = ["--base-url", server.url + "oa_bulk/", "--subset", "oa_comm", "--subset", "oa_other"]
    result = CliRunner().invoke(pmc_download, ["-o", str(tmp_path / "dry"), *base, "--kind", "incr", "--dry-run"])
    assert result.exit_code == 0 and not (tmp_path / "dry").exists()
    assert "oa_other/oa_other_xml.incr.2025-07-01.tar.gz  (size-only check)" in result.output
    assert "dry run: 4 files selected" in result.output
    result = CliRunner().invoke(pmc_download, ["-o", str(tmp_path / "out"), *base])
    assert result.exit_code == 0, result.output
    assert "downloaded 4," in result.output and "4 checked by size only (no .md5 published)" in result.output
    assert sorted(p.name for p in (tmp_path / "out/oa_comm").iterdir()) == [
        LEDGER_NAME,
        "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.filelist.csv",
        "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.tar.gz",
    ]
    ledger = json.loads((tmp_path / "out/oa_other" / LEDGER_NAME).read_text())["files"]
    assert {entry["verified"] for entry in ledger.values()} == {"size-only"}
