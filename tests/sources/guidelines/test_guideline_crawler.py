"""The polite guideline crawler against a small local site with robots.txt, ETags, faults and pagination."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from support.http_fixture import running

from medcorpus.cli.crawl import guidelines_crawl
from medcorpus.sources.guidelines.adapters.base import Listing, SiteAdapter, page_links
from medcorpus.sources.guidelines.crawl import (
    DEFAULT_USER_AGENT,
    CrawlError,
    Fetcher,
    RawStore,
    crawl_adapter,
    is_raw_store,
    read_crawl_info,
)
from medcorpus.sources.guidelines.crawl import crawler as crawler_module

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


class FakeAdapter(SiteAdapter):
    """Listing pages link documents with class="doc" and the next page with rel="next"."""

    name = "fake"
    publisher = "Fake Guideline Society"
    default_base_url = "http://fake.invalid/"
    license = "CC-BY-4.0"
    redistributable = True
    extractor = "html"

    def start_urls(self) -> list[str]:
        return [self.url("list?page=1")]

    def parse_listing(self, url: str, body: bytes, content_type: str) -> Listing:
        pages = page_links(body, url, "//a[@rel='next']/@href")
        return Listing(pages, page_links(body, url, "//a[@class='doc']/@href"))


@dataclass
class Page:
    body: bytes
    type: str = "text/html; charset=utf-8"
    status: int = 200
    fail_first: int = 0  # the first N GETs answer `fail_status`
    fail_status: int = 503
    retry_after: str | None = None
    no_length: bool = False  # send no Content-Length (body ends when the connection closes)
    location: str | None = None
    gets: int = 0


@dataclass
class Hit:
    time: float
    target: str
    headers: dict[str, str]


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pages: dict[str, Page]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages, self.log, self.lock = pages, [], threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def targets(self) -> list[str]:
        with self.lock:
            return [hit.target for hit in self.log]

    def clear(self) -> None:
        with self.lock:
            self.log.clear()


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format, *args) -> None:  # quiet
        return

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.log.append(Hit(time.monotonic(), self.path, dict(self.headers.items())))
        page = self.server.pages.get(self.path) or Page(b"not found", "text/plain", 404)
        page.gets += 1
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
        if page.gets <= page.fail_first:
            headers = {"Retry-After": page.retry_after} if page.retry_after is not None else {}
            return self._send(page.fail_status, b"busy", "text/plain", headers)
        if page.location:
            return self._send(page.status, b"", "text/plain", {"Location": page.location})
        if page.status == 200 and self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", None, {"ETag": etag})
        extra = {"ETag": etag, "Last-Modified": LAST_MODIFIED} if page.status == 200 else {}
        self._send(page.status, page.body, page.type, extra, length=not page.no_length)

    def _send(self, status: int, body: bytes, kind: str | None, headers: dict, length: bool = True) -> None:
        self.send_response(status)
        for key, value in {**({"Content-Type": kind} if kind else {}), **headers}.items():
            self.send_header(key, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def serve(pages: dict[str, Page]):
    with running(Site(pages)) as server:
        yield server


def listing(docs: list[str], next_page: str | None = None) -> Page:
    links = "".join(f'<li><a class="doc" href="{doc}">Guideline</a></li>' for doc in docs)
    more = f'<a rel="next" href="{next_page}">Next</a>' if next_page else ""
    return Page(f"<html><body><nav><a href='/'>Home</a></nav><ul>{links}</ul>{more}</body></html>".encode())


def document(name: str) -> Page:
    return Page(f"<html><body><h1>Guideline {name}</h1><p>Recommendation {name}.</p></body></html>".encode())


def site_pages(missing: bool = True) -> dict[str, Page]:
    """Three listing pages; documents a-d in order, a duplicate, a robots-disallowed one and a 404."""
    return {
        "/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/list?page=1": listing(["/doc/a", "doc/b"], "/list?page=2"),
        "/list?page=2": listing(["/doc/c", "/doc/a", "/private/secret"], "list?page=3"),
        "/list?page=3": listing(["/doc/d"] + (["/doc/missing"] if missing else [])),
        "/private/secret": document("secret"),
        **{f"/doc/{name}": document(name) for name in "abcd"},
    }


DOCS = ["/doc/a", "/doc/b", "/doc/c", "/doc/d"]
LISTS = ["/list?page=1", "/list?page=2", "/list?page=3"]


def run(server: Site, raw, **options):
    options = {"delay": 0, "retries": 2, "backoff": 0.01, **options}
    return crawl_adapter(FakeAdapter(server.url), raw, **options)


def stored(raw, role: str = "document", status: int = 200) -> list[str]:
    return [entry.url for entry in RawStore(raw).entries(role) if entry.status == status]


def test_full_crawl_follows_pagination_in_order(tmp_path):
    with serve(site_pages()) as server:
        report = run(server, tmp_path / "raw")
        targets = server.targets()
    assert stored(tmp_path / "raw") == [server.url + doc[1:] for doc in DOCS]
    assert [entry.url for entry in RawStore(tmp_path / "raw").entries("listing")] == [server.url + t[1:] for t in LISTS]
    assert targets == ["/robots.txt", *LISTS, *DOCS, "/doc/missing"]
    assert (report.fetched, report.cached, report.listing_pages, report.documents) == (7, 0, 3, 4)
    assert is_raw_store(tmp_path / "raw")


def test_robots_disallow_is_honoured_and_counted(tmp_path):
    with serve(site_pages()) as server:
        report = run(server, tmp_path / "raw")
        assert "/private/secret" not in server.targets()
    assert report.robots_blocked == 1
    assert [entry.url for entry in RawStore(tmp_path / "raw").entries("robots")] == [server.url + "robots.txt"]


def test_missing_document_is_recorded_and_the_crawl_goes_on(tmp_path):
    with serve(site_pages()) as server:
        report = run(server, tmp_path / "raw")
    assert report.failed == 1
    failure = report.failures[0]
    assert (failure.url, failure.role, failure.reason) == (server.url + "doc/missing", "document", "HTTP 404")
    assert RawStore(tmp_path / "raw").latest(server.url + "doc/missing").status == 404
    assert read_crawl_info(tmp_path / "raw")["report"]["failures"][0]["reason"] == "HTTP 404"


def test_every_response_is_stored_raw_with_matching_hashes(tmp_path):
    raw = tmp_path / "raw"
    with serve(site_pages()) as server:
        run(server, raw)
    lines = [json.loads(line) for line in (raw / "index.jsonl").read_text().splitlines()]
    assert len(lines) == 9 and {line["role"] for line in lines} == {"robots", "listing", "document"}
    for line in lines:
        data = (raw / line["body"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == line["sha256"] and len(data) == line["size"]
        assert line["body"] == f"bodies/{line['sha256'][:2]}/{line['sha256']}" and line["fetched_at"].endswith("Z")
    first = next(line for line in lines if line["url"].endswith("/doc/a"))
    assert first["etag"] and first["last_modified"] == LAST_MODIFIED and first["site"] == "fake"
    assert first["content_type"].startswith("text/html") and (raw / first["body"]).read_bytes().startswith(b"<html>")
    info = read_crawl_info(raw)
    assert (info["site"], info["base_url"], info["status"]) == ("fake", server.url, "finished")
    assert info["extractor"] == "html" and "references" in info["removed_sections"]
    assert info["metadata"]["license"] == "CC-BY-4.0" and info["metadata"]["redistributable"] is True
    assert info["report"]["documents"] == 4 and info["user_agent"] == DEFAULT_USER_AGENT


def test_user_agent_is_sent_with_every_request(tmp_path):
    with serve(site_pages()) as server:
        run(server, tmp_path / "raw")
        agents = {hit.headers.get("User-Agent") for hit in server.log}
    assert agents == {DEFAULT_USER_AGENT}
    assert DEFAULT_USER_AGENT.startswith("medcorpus/") and "guideline crawler" in DEFAULT_USER_AGENT


def test_requests_to_a_host_are_spaced_by_the_delay(tmp_path):
    with serve(site_pages(missing=False)) as server:
        run(server, tmp_path / "raw", delay=0.2, max_documents=2)
        times = [hit.time for hit in server.log]
    assert len(times) == 4  # robots.txt, one listing page, two documents
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.2 - 0.005


def test_robots_crawl_delay_raises_the_delay(tmp_path):
    pages = site_pages(missing=False)
    pages["/robots.txt"] = Page(b"User-agent: medcorpus\nCrawl-delay: 1\nDisallow: /private/\n", "text/plain")
    with serve(pages) as server:
        report = run(server, tmp_path / "raw", max_documents=1)
        times = [hit.time for hit in server.log]
    assert report.documents == 1 and len(times) == 3
    assert min(b - a for a, b in zip(times, times[1:])) >= 1 - 0.005


def test_503_is_retried_then_succeeds(tmp_path):
    pages = site_pages(missing=False)
    pages["/doc/b"].fail_first, pages["/doc/b"].retry_after = 2, "0"
    pages["/doc/c"].fail_first, pages["/doc/c"].fail_status = 2, 429  # no Retry-After: exponential backoff
    with serve(pages) as server:
        report = run(server, tmp_path / "raw", backoff=0.1)
        hits = [hit.time for hit in server.log if hit.target == "/doc/c"]
        assert server.targets().count("/doc/b") == 3
    assert report.failed == 0 and report.documents == 4
    assert len(hits) == 3 and hits[1] - hits[0] >= 0.1 - 0.005 and hits[2] - hits[1] >= 0.2 - 0.005


def test_retries_give_up_and_a_long_retry_after_is_not_waited_for(tmp_path):
    pages = site_pages(missing=False)
    pages["/doc/b"].fail_first = 10
    pages["/doc/c"].fail_first, pages["/doc/c"].retry_after = 10, "3600"
    with serve(pages) as server:
        report = run(server, tmp_path / "raw", retries=2)
        assert server.targets().count("/doc/b") == 3 and server.targets().count("/doc/c") == 1
    reasons = {failure.url.rsplit("/", 1)[1]: failure.reason for failure in report.failures}
    assert "HTTP 503" in reasons["b"] and "gave up after 3 attempts" in reasons["b"]
    assert "3600" in reasons["c"] and report.documents == 2
    assert RawStore(tmp_path / "raw").latest(server.url + "doc/b") is None  # nothing stored for a 5xx


def test_second_crawl_fetches_nothing(tmp_path):
    with serve(site_pages(missing=False)) as server:
        first = run(server, tmp_path / "raw")
        server.clear()
        second = run(server, tmp_path / "raw")
        assert server.targets() == ["/robots.txt"]  # only to decide again on the disallowed, never-stored URL
    assert (second.fetched, second.cached, second.documents, second.listing_pages) == (0, 7, 4, 3)
    assert second.requests == 1 and first.documents == 4


def test_refresh_sends_conditional_requests_and_records_not_modified(tmp_path):
    pages = site_pages(missing=False)
    with serve(pages) as server:
        run(server, tmp_path / "raw")
        before = RawStore(tmp_path / "raw").latest(server.url + "doc/b")
        pages["/doc/a"] = document("a, revised")
        server.clear()
        report = run(server, tmp_path / "raw", refresh=True)
        hits = [hit for hit in server.log if hit.target != "/robots.txt"]
    assert [hit.target for hit in hits] == [*LISTS, *DOCS]
    assert all(hit.headers.get("If-None-Match") and hit.headers.get("If-Modified-Since") for hit in hits)
    assert (report.not_modified, report.fetched, report.documents) == (6, 1, 4)
    store = RawStore(tmp_path / "raw")
    after = store.latest(server.url + "doc/b")
    assert after.not_modified and after.status == 200 and (after.sha256, after.etag) == (before.sha256, before.etag)
    assert b"revised" in store.body(store.latest(server.url + "doc/a"))


def test_resume_after_max_documents_fetches_only_the_rest(tmp_path):
    with serve(site_pages()) as server:
        first = run(server, tmp_path / "raw", max_documents=1)
        assert server.targets() == ["/robots.txt", "/list?page=1", "/doc/a"]
        server.clear()
        second = run(server, tmp_path / "raw")
        assert server.targets() == ["/robots.txt", "/list?page=2", "/list?page=3", *DOCS[1:], "/doc/missing"]
    assert (first.documents, second.documents, second.cached) == (1, 4, 2)
    assert stored(tmp_path / "raw") == [server.url + doc[1:] for doc in DOCS]


def test_resume_after_an_interruption(tmp_path, monkeypatch):
    get = Fetcher.get

    def interrupted(self, url, *args):
        if url.endswith("/doc/c"):
            raise KeyboardInterrupt
        return get(self, url, *args)

    with serve(site_pages(missing=False)) as server:
        monkeypatch.setattr(Fetcher, "get", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run(server, tmp_path / "raw")
        assert read_crawl_info(tmp_path / "raw")["status"] == "interrupted"
        monkeypatch.setattr(Fetcher, "get", get)
        server.clear()
        report = run(server, tmp_path / "raw")
        assert server.targets() == ["/robots.txt", "/doc/c", "/doc/d"]
    assert report.documents == 4 and read_crawl_info(tmp_path / "raw")["status"] == "finished"


def test_response_size_is_bounded(tmp_path):
    pages = site_pages(missing=False)
    pages["/doc/a"] = Page(b"<html>" + b"x" * 5000 + b"</html>")
    pages["/doc/b"] = Page(b"<html>" + b"y" * 5000 + b"</html>", no_length=True)
    with serve(pages) as server:
        report = run(server, tmp_path / "raw", max_bytes=1000)
    reasons = {failure.url.rsplit("/", 1)[1]: failure.reason for failure in report.failures}
    assert set(reasons) == {"a", "b"} and all("limit of 1000 bytes" in reason for reason in reasons.values())
    assert "5013 bytes" in reasons["a"] and report.documents == 2


def test_redirects_are_followed_and_recorded(tmp_path):
    pages = site_pages(missing=False)
    pages["/doc/b"] = Page(b"", status=301, location="/doc/b-2025")
    pages["/doc/b-2025"] = document("b")
    with serve(pages) as server:
        report = run(server, tmp_path / "raw")
    entry = RawStore(tmp_path / "raw").latest(server.url + "doc/b")
    assert report.failed == 0 and entry.status == 200 and entry.final_url == server.url + "doc/b-2025"


def test_unreachable_robots_txt_fails_the_host(tmp_path):
    pages = site_pages(missing=False)
    pages["/robots.txt"].fail_first = 10
    with serve(pages) as server:
        report = run(server, tmp_path / "raw", retries=1)
        assert server.targets() == ["/robots.txt", "/robots.txt"]
    assert report.failed == 1 and "robots.txt" in report.failures[0].reason and report.documents == 0


def test_a_raw_dir_of_another_site_is_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "crawl.json").write_text(json.dumps({"site": "nice"}))
    with pytest.raises(CrawlError, match="nice"):
        crawl_adapter(FakeAdapter("http://127.0.0.1:9/"), tmp_path / "raw", delay=0)


@pytest.fixture
def fake_site(monkeypatch):
    """`--site nice` crawls with the fake adapter (named nice), so the CLI needs no real adapter."""

    class FakeNice(FakeAdapter):
        name = "nice"

    monkeypatch.setattr(crawler_module, "adapter_class", lambda site: FakeNice)


def test_cli_crawls_and_summarises(tmp_path, fake_site):
    with serve(site_pages(missing=False)) as server:
        args = ["--site", "nice", "-o", str(tmp_path / "raw"), "--base-url", server.url, "--delay", "0"]
        result = CliRunner().invoke(guidelines_crawl, args)
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines() == [
            f"nice: 4 documents, 3 listing pages; 7 fetched, 0 from the store, 0 not modified, 0 failed, "
            f"1 blocked by robots.txt; raw store {tmp_path / 'raw'}"
        ]
        again = CliRunner().invoke(guidelines_crawl, [*args, "--max-documents", "2"])
        assert again.exit_code == 0 and "0 fetched, 3 from the store" in again.output


def test_cli_exit_codes(tmp_path, fake_site):
    (tmp_path / "file").write_text("not a folder")
    with serve(site_pages()) as server:
        base = ["--site", "nice", "--base-url", server.url, "--delay", "0", "--retries", "0"]
        failed = CliRunner().invoke(guidelines_crawl, [*base, "-o", str(tmp_path / "raw")])
        assert failed.exit_code == 1 and "doc/missing: HTTP 404" in failed.output
        unwritable = CliRunner().invoke(guidelines_crawl, [*base, "-o", str(tmp_path / "file" / "raw")])
        assert unwritable.exit_code == 2 and "error:" in unwritable.output
    bad_url = CliRunner().invoke(guidelines_crawl, ["--site", "nice", "-o", str(tmp_path), "--base-url", "ftp://x"])
    unknown = CliRunner().invoke(guidelines_crawl, ["--site", "nowhere", "-o", str(tmp_path)])
    assert bad_url.exit_code == 2 and unknown.exit_code == 2
