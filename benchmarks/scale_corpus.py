"""The N-times PubMed corpus of the whole-pipeline benchmark (`bench_scale.py`, issue 20), from one baseline file.

The corpus is the baseline file itself plus copies 1 .. N-1. Copy k holds the same citations with every
PMID shifted by k x 100,000,000 (each `PMID` element, wherever it is: the citation's own, DeleteCitation's,
CommentsCorrections'; and each `ArticleId IdType="pubmed"`) and `fraction` (30%) of the words of each
title and abstract replaced by words drawn from the file's own words, as often as they occur there. A copy
is then neither an exact nor a near duplicate of the original or of another copy (with 30% of the words
replaced about a third of the word 3-grams survive, a Jaccard similarity near 0.2 where near-dedup
removes above 0.5), yet it reads as English to the language filter and as prose to the quality filter.

Copy k depends only on the source file, `seed` and k, byte for byte (gzip with no name and no time in
its header). Records are cut out with the PubMed reader's own `iter_records` and rewritten one at a
time, so memory stays flat; the vocabulary pass holds one count per distinct word.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from lxml import etree

from medcorpus.paths import open_input
from medcorpus.sources.pubmed.reader import RECORD_TAGS
from medcorpus.sources.xml.records import RecordError, iter_records
from medcorpus.sources.xml.safe import is_number, parse_bytes

PMID_SHIFT = 100_000_000
FRACTION = 0.3
WORD = re.compile(r"[^\W\d_]+")  # a run of letters
TEXT_TAGS = ("ArticleTitle", "VernacularTitle", "AbstractText")  # AbstractText of Abstract and OtherAbstract
_FIRST_RECORD = re.compile(rb"<(?:PubmedArticle|PubmedBookArticle|DeleteCitation)[\s>/]")
_HEAD_BYTES = 1 << 16


def copy_name(k: int) -> str:
    """File name of copy k: a baseline-style name the PubMed reader takes, sorted after the real files."""
    return f"pubmed20n{9000 + k:04d}.xml.gz"


def _records(source: str | Path, max_articles: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(prelude, record bytes) of each record of `source`, in file order; the prelude is the bytes before the
    first record (XML declaration, DOCTYPE, `<PubmedArticleSet>`)."""
    with open_input(str(source)) as stream:
        head = stream.read(_HEAD_BYTES)
        start = _FIRST_RECORD.search(head)
        if b"<PubmedArticleSet" not in head or start is None:
            raise ValueError(f"{source}: not a PubmedArticleSet file")
        prelude = head[: start.start()]
        for count, record in enumerate(iter_records(stream, RECORD_TAGS, head=head)):
            if max_articles is not None and count >= max_articles:
                return
            if isinstance(record, RecordError):
                raise ValueError(f"{source}: record {count}: {record.reason}")
            yield prelude, record[1]


def _segments(element: etree._Element) -> list[tuple[etree._Element, str]]:
    """(node, "text" | "tail") of each piece of text inside `element` (its own tail excluded)."""
    found = [(element, "text")] if isinstance(element.tag, str) else []
    for node in element.iterdescendants():
        if isinstance(node.tag, str):
            found.append((node, "text"))
        found.append((node, "tail"))
    return [(node, part) for node, part in found if getattr(node, part)]


class Vocabulary:
    """The words of a file's titles and abstracts, drawn as often as they occur there."""

    def __init__(self, counts: Counter):
        if not counts:
            raise ValueError("no words to draw from")
        self.words = sorted(counts)
        self.cumulative = np.cumsum([counts[word] for word in self.words])

    @classmethod
    def of_file(cls, source: str | Path, max_articles: int | None = None) -> Vocabulary:
        counts: Counter = Counter()
        for _, data in _records(source, max_articles):
            for element in parse_bytes(data).iter(*TEXT_TAGS):
                for node, part in _segments(element):
                    counts.update(WORD.findall(getattr(node, part)))
        return cls(counts)

    def draw(self, rng: np.random.Generator, count: int) -> list[str]:
        picks = np.searchsorted(self.cumulative, rng.integers(self.cumulative[-1], size=count), side="right")
        return [self.words[i] for i in picks]


def _replace_words(record: etree._Element, vocabulary: Vocabulary, rng: np.random.Generator, fraction: float):
    """Replace round(fraction x words) of the words of the record's title and abstracts; (words, replaced)."""
    segments = [segment for element in record.iter(*TEXT_TAGS) for segment in _segments(element)]
    matches = [list(WORD.finditer(getattr(node, part))) for node, part in segments]
    total = sum(len(found) for found in matches)
    chosen = round(fraction * total)
    if not chosen:
        return total, 0
    positions = np.sort(rng.choice(total, size=chosen, replace=False)).tolist()
    words = iter(vocabulary.draw(rng, chosen))
    next_position, index = 0, 0
    for (node, part), found in zip(segments, matches):
        text, pieces, cursor = getattr(node, part), [], 0
        for match in found:
            if next_position < chosen and positions[next_position] == index:
                pieces += [text[cursor : match.start()], next(words)]
                cursor = match.end()
                next_position += 1
            index += 1
        if cursor:
            setattr(node, part, "".join(pieces) + text[cursor:])
    return total, chosen


def _shift_pmids(record: etree._Element, shift: int) -> None:
    """Add `shift` to every PMID the record holds."""
    for element in record.iter("PMID", "ArticleId"):
        if element.tag == "ArticleId" and element.get("IdType") != "pubmed":
            continue
        value = (element.text or "").strip()
        if is_number(value):
            element.text = str(int(value) + shift)


def build_copy(
    source: str | Path,
    dest: str | Path,
    k: int,
    seed: int,
    vocabulary: Vocabulary,
    fraction: float = FRACTION,
    max_articles: int | None = None,
) -> dict[str, int]:
    """Write copy `k` of `source` to `dest` (gzip, atomically); its record, word and replaced-word counts.

    Copy 0 is the source's records unchanged (with `max_articles`, a shorter source)."""
    if k < 0:
        raise ValueError("copies are numbered from 0 (the source's records unchanged)")
    fraction = fraction if k else 0.0
    rng = np.random.default_rng([seed, k])
    dest = Path(dest)
    partial = dest.with_name(dest.name + ".partial")
    counts = Counter()
    with open(partial, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        prelude = None
        for prelude, data in _records(source, max_articles):
            if counts["records"] == 0:
                out.write(prelude.rstrip())
            record = parse_bytes(data)
            _shift_pmids(record, k * PMID_SHIFT)
            words, replaced = _replace_words(record, vocabulary, rng, fraction) if k else (0, 0)
            counts.update(records=1, words=words, replaced=replaced)
            out.write(b"\n  " + etree.tostring(record, encoding="UTF-8"))
        if prelude is None:
            raise ValueError(f"{source}: no records")
        out.write(b"\n</PubmedArticleSet>\n")
    os.replace(partial, dest)
    return dict(counts)


def build_corpus(
    source: str | Path,
    folder: str | Path,
    scale: int,
    seed: int = 0,
    fraction: float = FRACTION,
    max_articles: int | None = None,
    log=print,
) -> list[Path]:
    """The `scale` files of the corpus, built in `folder` where missing: `source` and copies 1 .. scale-1
    (with `max_articles`, copies 0 .. scale-1 of the source's first records).

    Copies already there are reused when the folder's `corpus.json` records the same source, seed, fraction
    and article limit; otherwise they are deleted and built again."""
    folder, source = Path(folder), Path(source)
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"source": str(source.resolve()), "size": source.stat().st_size, "seed": seed}
    settings |= {"fraction": fraction, "max_articles": max_articles}
    record = folder / "corpus.json"
    if record.exists() and json.loads(record.read_text()) != settings:
        for old in folder.glob("pubmed20n9???.xml.gz"):
            old.unlink()
    record.write_text(json.dumps(settings, indent=1, sort_keys=True))
    first = 0 if max_articles is not None else 1
    wanted = {k: folder / copy_name(k) for k in range(first, scale)}
    missing = [k for k, path in wanted.items() if not path.exists()]
    vocabulary = Vocabulary.of_file(source, max_articles) if missing else None
    for k in missing:
        counts = build_copy(source, wanted[k], k, seed, vocabulary, fraction, max_articles)
        replaced = f"{counts['replaced']:,} of {counts['words']:,} words replaced"
        log(f"built {wanted[k].name}: {counts['records']:,} records, {replaced}")
    return ([] if first == 0 else [source]) + list(wanted.values())
