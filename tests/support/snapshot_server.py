"""Serve a recorded site snapshot (tests/snapshots/guidelines/<site>/) from a local HTTP server.

A snapshot folder holds the recorded files and `routes.json`, which maps each request target
(path and query, exactly as the crawler asks for it, e.g. "/guidance/published?ps=100") to
`{"file": "listing_1.html", "type": "text/html"}`; an optional "status" gives another code.
Unknown targets answer 404. Every request is logged as (method, target, headers) for tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from support.http_fixture import running
from support.paths import SNAPSHOTS as SNAPSHOT_ROOT

SNAPSHOTS = SNAPSHOT_ROOT / "guidelines"


BASE = "http://snapshot.test:8080/"  # the fake mirror address adapters are walked under offline


def target(url: str) -> str:
    """The request target ("path?query") of an absolute URL, as routes.json keys it."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def routes(site: str) -> dict[str, dict]:
    return json.loads((SNAPSHOTS / site / "routes.json").read_text())


def expected_documents(site: str) -> list[str]:
    return json.loads((SNAPSHOTS / site / "expected.json").read_text())["documents"]


def recorded(site: str, url: str) -> tuple[bytes, str]:
    route = routes(site)[target(url)]
    return (SNAPSHOTS / site / route["file"]).read_bytes(), route.get("type", "text/html")


def walk(site: str, base: str = BASE) -> tuple[list[str], list[str]]:
    """Listing pages fetched and documents found by a breadth-first crawl of the snapshot, as targets."""
    from medcorpus.sources.guidelines.adapters import adapter_class

    adapter = adapter_class(site)(base)
    queue, seen, documents, fetched = list(adapter.start_urls()), set(adapter.start_urls()), [], []
    while queue:
        url = queue.pop(0)
        fetched.append(target(url))
        listing = adapter.parse_listing(url, *recorded(site, url))
        assert all(link.startswith(base) for link in listing.pages + listing.documents), "a link left the mirror"
        queue += [page for page in dict.fromkeys(listing.pages) if page not in seen]
        seen.update(listing.pages)
        documents.extend(d for d in listing.documents if d not in documents)
    return fetched, [target(d) for d in documents]


class SnapshotServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.routes: dict[str, dict] = json.loads((root / "routes.json").read_text())
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def targets(self, method: str = "GET") -> list[str]:
        with self.lock:
            return [target for m, target, _ in self.log if m == method]


class _Handler(BaseHTTPRequestHandler):
    server: SnapshotServer

    def log_message(self, format, *args) -> None:  # quiet
        return

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        with self.server.lock:
            self.server.log.append((self.command, self.path, dict(self.headers.items())))
        route = self.server.routes.get(self.path)
        if route is None:
            body, status, kind = b"not found", 404, "text/plain"
        else:
            body = (self.server.root / route["file"]).read_bytes()
            status, kind = int(route.get("status", 200)), route.get("type", "text/html; charset=utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


@contextlib.contextmanager
def serve_snapshot(site: str, root: Path = SNAPSHOTS) -> Iterator[SnapshotServer]:
    """A running server for the snapshot of `site`, shut down on exit."""
    with running(SnapshotServer(root / site)) as server:
        yield server
