"""Split a large XML stream of flat, repeated records into one byte string per record.

Bulk files such as PubMed's `PubmedArticleSet` are a long run of sibling records. Cutting
them apart at the byte level, then parsing each record on its own, isolates damage: one
malformed record is skipped and the rest of the file still parses, where a single streaming
parse would stop at the first error. Memory stays bounded: at most one record (itself at most
`max_record_bytes`) plus one chunk no larger than it is held, and an oversized or unterminated
record is discarded as it streams past.

Records are found by their start tag and closed by the first matching end tag, so this only
suits record types that never nest inside themselves (true of PubMed's records).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

# Small reads: a 1 MiB request costs a fresh 1 MiB allocation each time (page faults) however little a gzip step gives.
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class RecordError:
    """A record that could not be cut out: `reason` is "record_too_large" or "truncated_record"."""

    tag: str
    reason: str


def iter_records(
    stream: IO[bytes], tags: tuple[str, ...], max_record_bytes: int = 32 << 20, head: bytes = b""
) -> Iterator[tuple[str, bytes] | RecordError]:
    """Yield (tag, record bytes) for each top-level record named in `tags`, in file order.

    A record larger than `max_record_bytes`, or cut off by the end of the stream, is reported
    as a `RecordError` instead; reading then continues with the next record. `head` is the
    start of the stream when the caller has already read it.
    """
    read = getattr(stream, "read1", stream.read)  # one decompression step at a time: a cut-off gzip loses least
    names = "|".join(re.escape(tag) for tag in tags)
    start = re.compile(rf"<({names})[\s>/]".encode())
    keep = max(len(tag) for tag in tags) + 2  # a start tag split across two chunks must survive the cut
    buffer, pos, at_end = head, 0, False
    while True:
        match = start.search(buffer, pos)
        if match is None:
            if at_end:
                return
            chunk = read(CHUNK_BYTES)
            at_end = not chunk
            buffer, pos = buffer[max(pos, len(buffer) - keep) :] + chunk, 0
            continue
        tag, begin = match.group(1).decode(), match.start()
        if buffer[match.end() - 1 : match.end() + 1] == b"/>":  # an empty record: <Tag/>
            yield tag, buffer[begin : match.end() + 1]
            pos = match.end() + 1
            continue
        closing = f"</{tag}>".encode()
        end = buffer.find(closing, match.end())
        while end < 0:
            if len(buffer) - begin > max_record_bytes:
                yield RecordError(tag, "record_too_large")
                buffer, at_end = _skip_past(read, buffer[begin:], closing, at_end)
                pos = 0
                break
            if at_end:
                yield RecordError(tag, "truncated_record")
                return
            searched = len(buffer) - begin - len(closing)
            chunk = read(max(CHUNK_BYTES, searched))  # a long record grows geometrically: copying stays linear
            at_end = not chunk
            buffer, begin = buffer[begin:] + chunk, 0
            end = buffer.find(closing, max(0, searched))
        else:
            pos = end + len(closing)
            yield RecordError(tag, "record_too_large") if pos - begin > max_record_bytes else (tag, buffer[begin:pos])


def _skip_past(read, buffer: bytes, closing: bytes, at_end: bool) -> tuple[bytes, bool]:
    """Drop bytes up to and including the next `closing` tag without holding them; (rest, at_end)."""
    while True:
        end = buffer.find(closing)
        if end >= 0:
            return buffer[end + len(closing) :], at_end
        if at_end:
            return b"", True
        chunk = read(CHUNK_BYTES)
        at_end = not chunk
        buffer = buffer[-len(closing) :] + chunk
