"""Document conventions shared by every stage: ids, categories and required metadata."""

from __future__ import annotations

import hashlib

from datatrove.data import Document

CATEGORIES = ("biomedical", "clinical", "general")
REQUIRED_METADATA = ("source", "category", "license")
TURN_SEPARATOR = "\n\n"  # between the turns of an instruction example in its text
STAGE_TOKENS = "stage_tokens"  # metadata: a run's stage token count of the text (see run/counts.py)
PREVIOUS_TEXT = "_previous_text"  # metadata, in memory only: the text a pending stage token count still needs


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


def replace_text(document: Document, text: str) -> None:
    """Give a document a new text. Steps change text only through this: while the document's stage token count
    may be pending (`run/deferred.py`: a pending entry, or none), the text it replaces is kept under
    `PREVIOUS_TEXT` for the next stage counter (or exclusion writer) to count and remove; the document writers
    never write that key."""
    if text == document.text:
        return
    metadata = document.metadata
    entry = metadata.get(STAGE_TOKENS)
    if (entry is None or len(entry) == 3) and PREVIOUS_TEXT not in metadata:
        metadata[PREVIOUS_TEXT] = document.text
    document.text = text


def turns_of(document: Document) -> list[dict] | None:
    """An instruction example's turns (`[{"role", "content"}]`), or None for any other document."""
    turns = document.metadata.get("turns")
    return turns if isinstance(turns, list) and turns else None


def join_turns(turns: list[dict]) -> str:
    """The document text of an instruction example: its turns' contents joined by blank lines."""
    return TURN_SEPARATOR.join(turn["content"] for turn in turns if turn["content"])


def lacks(turns: list[dict]) -> tuple[bool, bool]:
    """(no prompt, no answer) of an example's turns: no user turn with content; the last turn not a non-empty
    assistant answer."""
    no_prompt = not any(turn["role"] == "user" and turn["content"] for turn in turns)
    return no_prompt, turns[-1]["role"] != "assistant" or not turns[-1]["content"]


def prompt_of(document: Document) -> str:
    """What an instruction example asks (its user turns joined by blank lines); the text for any other."""
    turns = turns_of(document)
    if turns is None:
        return document.text
    return TURN_SEPARATOR.join(turn["content"] for turn in turns if turn["role"] == "user" and turn["content"])


def map_turns(document: Document, change) -> Document:
    """Apply `change(text) -> text` to each turn of an instruction example and rebuild its text from them (to
    the text itself for any other document), so turns and text never disagree."""
    turns = turns_of(document)
    if turns is None:
        replace_text(document, change(document.text))
        return document
    document.metadata["turns"] = [turn | {"content": change(turn["content"])} for turn in turns]
    replace_text(document, join_turns(document.metadata["turns"]))
    return document
