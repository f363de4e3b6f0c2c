"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations


def read_all(reader):
    """All documents of a source reader, and the (reason, doc_id) of every record it rejected."""
    rejects = []
    original = reader.reject

    def record(path, reason, doc_id=None):
        rejects.append((reason, doc_id))
        original(path, reason, doc_id)

    reader.reject = record
    return list(reader.run()), rejects
