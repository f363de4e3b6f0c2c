"""A local HTTP server for download tests: HTML index pages, Range requests, injected faults, a request log."""

from __future__ import annotations

import contextlib
import html
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit


@dataclass
class Fault:
    """Misbehaviour for one file's GET requests, counted from the first GET of it."""

    fail_first: int = 0  # the first N GETs answer `status`
    status: int = 503
    retry_after: int | None = None
    truncate_first: int = 0  # then N GETs send only `truncate_at` bytes of their body and close
    truncate_at: int = 0
    corrupt_first: int = 0  # then N GETs serve the right length of wrong bytes
    stall_first: int = 0  # the first N GETs wait `stall` seconds before answering
    stall: float = 1.0
    gets: int = 0


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    range: str | None
    status: int
    user_agent: str
    authorization: str | None = None


class FixtureServer(ThreadingHTTPServer):
    """Serves the files below `root` on 127.0.0.1; `ranges=False` ignores Range headers (answers 200)."""

    daemon_threads = True

    def __init__(self, root: Path, ranges: bool = True, delay: float = 0.0, handler: type | None = None):
        super().__init__(("127.0.0.1", 0), handler or Handler)
        self.root, self.ranges, self.delay = Path(root).resolve(), ranges, delay
        self.faults: dict[str, Fault] = {}  # keyed by URL path, e.g. "/baseline/pubmed25n0001.xml.gz"
        self.log: list[Request] = []
        self.lock = threading.Lock()
        self.active = self.max_active = 0

    def handle_error(self, request, client_address) -> None:
        """Stay quiet when a client hangs up early (the downloader's timeouts do that on purpose)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def requests(self, path: str, method: str = "GET") -> list[Request]:
        """The logged requests for one URL path."""
        with self.lock:
            return [request for request in self.log if request.path == path and request.method == method]

    def gets(self) -> list[str]:
        """The paths of all GET requests, in order."""
        with self.lock:
            return [request.path for request in self.log if request.method == "GET"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FixtureServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        with self.server.lock:
            self.server.active += 1
            self.server.max_active = max(self.server.max_active, self.server.active)
        try:
            self._answer(head)
        finally:
            with self.server.lock:
                self.server.active -= 1

    def _send(self, status: int, body: bytes, headers: dict | None = None, head: bool = False, length=None) -> None:
        self._record(status)
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body) if length is None else length), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _record(self, status: int) -> None:
        request = Request(
            self.command,
            urlsplit(self.path).path,
            self.headers.get("Range"),
            status,
            self.headers["User-Agent"],
            self.headers.get("Authorization"),
        )
        with self.server.lock:
            self.server.log.append(request)

    def _answer(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        target = (self.server.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.server.root) or not target.exists():
            return self._send(404, b"not found", head=head)
        fault = self.server.faults.get(path, Fault())
        if not head:
            fault.gets += 1
            time.sleep(self.server.delay)
            if fault.gets <= fault.stall_first:
                time.sleep(fault.stall)
            if fault.gets <= fault.fail_first:
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return self._send(fault.status, b"busy", extra)
        if target.is_dir():
            return self._send(200, _index(path, target), {"Content-Type": "text/html"}, head)
        data = target.read_bytes()
        status, start, headers = 200, 0, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and self.server.ranges:
            start = int(match[1])
            if start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
            status, headers["Content-Range"] = 206, f"bytes {start}-{len(data) - 1}/{len(data)}"
        body, step = data[start:], fault.gets - fault.fail_first
        if not head and 0 < step - fault.truncate_first <= fault.corrupt_first:
            body = bytes(byte ^ 0xFF for byte in body)
        if not head and 0 < step <= fault.truncate_first:
            self._send(status, body[: fault.truncate_at], headers, length=len(body))
            self.close_connection = True
            return
        self._send(status, body, headers, head)


def _index(path: str, folder: Path) -> bytes:
    """An Apache-like index page: sort links, a parent link, sub-folders and files."""
    rows = ['<a href="?C=N;O=D">Name</a> <a href="?C=M;O=A">Last modified</a>', '<a href="../">Parent Directory</a>']
    for entry in sorted(folder.iterdir()):
        name = entry.name + ("/" if entry.is_dir() else "")
        rows.append(f'<a href="{quote(name)}">{html.escape(name)}</a>  2025-01-01 00:00  {entry.stat().st_size}')
    page = f"<html><head><title>Index of {html.escape(path)}</title></head><body><pre>\n" + "\n".join(rows)
    return (page + "\n</pre></body></html>\n").encode()


@contextlib.contextmanager
def serve(root: Path, ranges: bool = True, delay: float = 0.0) -> Iterator[FixtureServer]:
    """A running `FixtureServer` for `root`, shut down on exit."""
    with running(FixtureServer(root, ranges, delay)) as server:
        yield server


@contextlib.contextmanager
def running(server: ThreadingHTTPServer) -> Iterator:
    """Serve `server` from a background thread until the block ends, then shut it down."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
