"""Document conventions shared by every stage: ids, categories and required metadata."""

from __future__ import annotations

import hashlib

from datatrove.data import Document

CATEGORIES = ("biomedical", "clinical", "general")
REQUIRED_METADATA = ("source", "category", "license")


def url_hash(url: str, length: int = 16) -> str:
    """Short stable hash of a URL or path, used in ids of documents that have no natural id."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:length]


def make_document(text: str, doc_id: str, source: str, category: str, license: str, **ids: object) -> Document:
    """Build a Document with the metadata every medcorpus stage relies on.

    `ids` are the source's own identifiers (PMID, DOI, ROW_ID, url, ...); None values are dropped.
    """
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    metadata = {"source": source, "category": category, "license": license}
    metadata.update({key: value for key, value in ids.items() if value is not None})
    return Document(text=text, id=doc_id, metadata=metadata)
