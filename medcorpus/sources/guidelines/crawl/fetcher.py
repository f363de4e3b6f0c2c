"""Polite HTTP for the guideline crawler: robots.txt, per-host pacing, retries, conditional and bounded requests.

- Every request carries a User-Agent naming the project and its purpose.
- robots.txt is fetched once per scheme and host, through the same client (and the same pacing), and
  honoured with `urllib.robotparser`, including a Crawl-delay above our own delay (up to a minute).
  A missing robots.txt (404 and other 4xx) allows everything; 401/403 forbid everything; one that
  cannot be fetched (5xx or network trouble after retries) makes every URL of that host fail.
- Requests to one host start at least `delay` seconds after the previous response from it ended.
- Connection errors, timeouts, 429 and 5xx are retried with exponential backoff, or after the
  server's numeric Retry-After (a wait longer than `MAX_WAIT` gives the URL up instead).
- Redirects are followed by hand (at most `MAX_REDIRECTS`), each hop checked against robots.txt.
- A body over `max_bytes` (announced or counted while reading) fails the URL without retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
import urllib3
from datatrove.utils.logging import logger

from medcorpus import __version__

DEFAULT_USER_AGENT = f"medcorpus/{__version__} (+https://github.com/medcorpus; guideline crawler)"
MAX_BYTES = 64 << 20
MAX_WAIT = 300.0  # longest backoff or Retry-After waited for
MAX_CRAWL_DELAY = 60.0
MAX_REDIRECTS = 5
CHUNK = 1 << 16
REDIRECTS = frozenset({301, 302, 303, 307, 308})
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
)


class FetchError(Exception):
    """A URL could not be fetched; the message is the reason (no body content in it)."""


class RobotsBlocked(FetchError):
    """robots.txt forbids the URL to this crawler."""


@dataclass
class Response:
    """A final (non-redirect) response; `body` is b"" for 304 Not Modified."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


def _retry_after(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else None


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


class Fetcher:
    """HTTP GETs for one crawl. `on_robots(response)` is called with each robots.txt response fetched."""

    def __init__(
        self,
        user_agent: str | None = None,
        delay: float = 1.0,
        retries: int = 4,
        timeout: float = 30.0,
        max_bytes: int = MAX_BYTES,
        backoff: float = 1.0,
        on_robots: Callable[[Response], None] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.delay, self.retries, self.timeout = max(0.0, delay), max(0, retries), timeout
        self.max_bytes, self.backoff, self.on_robots = max_bytes, backoff, on_robots
        self.session = session or requests.Session()
        self._own_session = session is None
        self.sleep, self.clock = sleep, clock
        self._last: dict[str, float] = {}  # host -> clock() when its last response ended
        self._delays: dict[str, float] = {}  # host -> delay, raised by a robots.txt Crawl-delay
        self._robots: dict[str, RobotFileParser | str] = {}  # origin -> rules, or why robots.txt is unusable
        self.requests = 0  # HTTP requests sent, retries and robots.txt included

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets this crawler fetch `url`; `FetchError` when robots.txt is unavailable."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in self._robots:
            self._robots[origin] = self._load_robots(origin)
        rules = self._robots[origin]
        if isinstance(rules, str):
            raise FetchError(rules)
        return rules.can_fetch(self.user_agent, url)

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET `url` politely, conditionally when `etag` or `last_modified` is given (a 304 comes back as is).

        Raises `RobotsBlocked` when robots.txt forbids it and `FetchError` when it cannot be fetched;
        other HTTP statuses (404, 410...) come back as responses for the caller to judge.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._follow(url, headers, check_robots=True)

    def _follow(self, url: str, headers: dict[str, str], check_robots: bool) -> Response:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise FetchError(f"not an http(s) URL: {current}")
            if check_robots and not self.allowed(current):
                raise RobotsBlocked(f"disallowed by robots.txt: {current}")
            status, response_headers, body = self._retrying(current, headers)
            location = response_headers.get("Location")
            if status in REDIRECTS and location:
                current = urljoin(current, location.strip()).split("#", 1)[0]
                continue
            return Response(
                url,
                current,
                status,
                response_headers.get("Content-Type", ""),
                body,
                response_headers.get("ETag"),
                response_headers.get("Last-Modified"),
            )
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")

    def _retrying(self, url: str, headers: dict[str, str]):
        for attempt in range(self.retries + 1):
            try:
                return self._once(url, headers)
            except _Retry as error:
                if attempt == self.retries:
                    raise FetchError(f"{error} (gave up after {attempt + 1} attempts)") from error
                if error.wait is not None and error.wait > MAX_WAIT:
                    raise FetchError(f"{error}; the server asks to wait {error.wait:g}s, giving up") from error
                wait = min(MAX_WAIT, self.backoff * 2**attempt if error.wait is None else error.wait)
                logger.warning(f"{url}: {error}; retry {attempt + 1}/{self.retries} in {wait:g}s")
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _pause(self, host: str) -> None:
        last = self._last.get(host)
        if last is not None:
            wait = last + self._delays.get(host, self.delay) - self.clock()
            if wait > 0:
                self.sleep(wait)

    def _once(self, url: str, headers: dict[str, str]):
        """One request: (status, headers, body); transient trouble raises `_Retry`."""
        host = _host(url)
        self._pause(host)
        self.requests += 1
        try:
            with self.session.get(
                url,
                headers={"User-Agent": self.user_agent, **headers},
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise _Retry(f"HTTP {status}", _retry_after(response))
                length = (response.headers.get("Content-Length") or "").strip()
                if length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError(f"response of {length} bytes is over the limit of {self.max_bytes} bytes")
                body = bytearray()
                for chunk in response.iter_content(CHUNK):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(f"response is over the limit of {self.max_bytes} bytes")
                return status, response.headers, bytes(body)
        except TRANSIENT as error:
            raise _Retry(f"{type(error).__name__}: {error}") from error
        except requests.RequestException as error:
            raise FetchError(f"{type(error).__name__}: {error}") from error
        finally:
            self._last[host] = self.clock()

    def _load_robots(self, origin: str) -> RobotFileParser | str:
        robots_url = origin + "/robots.txt"
        try:
            response = self._follow(robots_url, {}, check_robots=False)
        except FetchError as error:
            logger.warning(f"{robots_url}: unavailable ({error}); not crawling {origin}")
            return f"robots.txt of {origin} unavailable: {error}"
        if self.on_robots is not None:
            self.on_robots(response)
        rules = RobotFileParser(robots_url)
        if response.status in (401, 403):
            rules.disallow_all = True
        elif 400 <= response.status < 500:
            rules.allow_all = True
        elif response.status == 200:
            rules.parse(response.body.decode("utf-8", "replace").splitlines())
        else:
            return f"robots.txt of {origin} answered HTTP {response.status}"
        crawl_delay = rules.crawl_delay(self.user_agent) if response.status == 200 else None
        if crawl_delay and float(crawl_delay) > self.delay:
            self._delays[_host(origin)] = min(float(crawl_delay), MAX_CRAWL_DELAY)
            logger.info(f"{origin}: robots.txt asks for {crawl_delay}s between requests")
        return rules
