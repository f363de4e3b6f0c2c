"""A fake Hugging Face Hub for one dataset repository: the tree API in pages, resolve URLs, Range, faults."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from support.http_fixture import FixtureServer, Handler, running

LFS_SUFFIXES = (".parquet", ".jsonl", ".zst", ".gz")


class HubServer(FixtureServer):
    """Serves the files below `root` as the dataset `repo` at revision "main".

    `GET /api/datasets/{repo}/tree/main/{folder}?recursive=true` lists `page_size` entries a page
    (`Link: <...&cursor=N>; rel="next"`); files ending in `LFS_SUFFIXES` carry `lfs.oid` (their
    sha256, or `published[path]` when set), others only a git-like `oid`. `extra` entries are
    appended to every listing. `GET /datasets/{repo}/resolve/main/{path}` redirects to `/cdn/{path}`,
    served (with Range and `faults`, keyed by `/{path}`) from `root`."""

    def __init__(self, root: Path, repo: str, page_size: int = 2):
        super().__init__(root, handler=_HubHandler)
        self.repo, self.page_size = repo, page_size
        self.extra: list[dict] = []
        self.published: dict[str, str] = {}

    def entries(self, folder: str) -> list[dict] | None:
        base = self.root / folder
        if not base.is_dir():
            return None
        listed = []
        for path in sorted(base.rglob("*")):
            name = path.relative_to(self.root).as_posix()
            if path.is_dir():
                listed.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": name})
                continue
            data = path.read_bytes()
            entry = {"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": name}
            if name.endswith(LFS_SUFFIXES):
                sha = self.published.get(name, hashlib.sha256(data).hexdigest())
                entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
            listed.append(entry)
        return listed + self.extra

    def tree_pages(self) -> int:
        return sum(1 for request in self.log if request.path.startswith("/api/"))


class _HubHandler(Handler):
    server: HubServer

    def _answer(self, head: bool) -> None:
        url = urlsplit(self.path)
        path, tree = unquote(url.path), f"/api/datasets/{self.server.repo}/tree/main"
        resolve = f"/datasets/{self.server.repo}/resolve/main/"
        if path == tree or path.startswith(tree + "/"):
            return self._tree(path[len(tree) + 1 :], parse_qs(url.query))
        if path.startswith(resolve):
            return self._send(302, b"", {"Location": "/cdn/" + url.path[len(resolve) :]}, head)
        if path.startswith("/cdn/"):
            self.path = self.path[len("/cdn") :]
            return super()._answer(head)
        return self._send(404, b'{"error": "Repository or revision not found"}', head=head)

    def _tree(self, folder: str, query: dict) -> None:
        entries = self.server.entries(folder)
        if entries is None or query.get("recursive") != ["true"]:
            return self._send(404, b'{"error": "not found"}')
        start = int(query.get("cursor", ["0"])[0])
        end = start + self.server.page_size
        headers = {"Content-Type": "application/json"}
        if end < len(entries):
            here = f"http://{self.headers['Host']}{urlsplit(self.path).path}"
            headers["Link"] = f'<{here}?recursive=true&cursor={end}>; rel="next"'
        self._send(200, json.dumps(entries[start:end]).encode(), headers)


@contextlib.contextmanager
def serve_hub(root: Path, repo: str, page_size: int = 2) -> Iterator[HubServer]:
    """A running `HubServer`, shut down on exit."""
    with running(HubServer(root, repo, page_size)) as server:
        yield server
