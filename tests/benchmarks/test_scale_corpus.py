"""The corpus builder of the whole-pipeline benchmark (`benchmarks/scale_corpus.py`) and its per-stage timing.

Copies are built from the first records of the shared baseline file, so these tests take about a second.
"""

from __future__ import annotations

import gzip
import json

import pytest
from lxml import etree
from support.paths import PROJECT

from medcorpus.sources.pubmed.reader import PubMedReader

ARTICLES = 200


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(PROJECT / "benchmarks"))
    import bench_scale
    import scale_corpus

    return scale_corpus, bench_scale


@pytest.fixture
def baseline(shared_data):
    return shared_data / "pubmed" / "pubmed20n0014.xml.gz"


@pytest.fixture
def copies(bench, baseline, tmp_path):
    """Copies 0 (unchanged), 1 and 2 of the first records, seed 0, and copy 1's counts."""
    scale_corpus, _ = bench
    vocabulary = scale_corpus.Vocabulary.of_file(baseline, ARTICLES)
    paths, counts = {}, {}
    for k in (0, 1, 2):
        paths[k] = tmp_path / scale_corpus.copy_name(k)
        counts[k] = scale_corpus.build_copy(baseline, paths[k], k, 0, vocabulary, max_articles=ARTICLES)
    return paths, counts, vocabulary


def _documents(path, min_abstract_chars: int = 200) -> dict[int, str]:
    reader = PubMedReader([str(path)], min_abstract_chars=min_abstract_chars)
    return {int(doc.metadata["pmid"]): doc.text for doc in reader.read_file(str(path))}


def _pmids(path) -> list[int]:
    with gzip.open(path) as handle:
        root = etree.parse(handle).getroot()
    found = [e for e in root.iter("PMID", "ArticleId") if e.tag == "PMID" or e.get("IdType") == "pubmed"]
    return [int(e.text) for e in found]


def test_copies_are_byte_reproducible_and_differ_by_seed_and_number(bench, baseline, copies, tmp_path):
    scale_corpus, _ = bench
    paths, _, vocabulary = copies
    again = tmp_path / "again.xml.gz"
    scale_corpus.build_copy(baseline, again, 1, 0, vocabulary, max_articles=ARTICLES)
    assert again.read_bytes() == paths[1].read_bytes()
    other_seed = tmp_path / "seed1.xml.gz"
    scale_corpus.build_copy(baseline, other_seed, 1, 1, vocabulary, max_articles=ARTICLES)
    assert other_seed.read_bytes() != paths[1].read_bytes()
    assert len({paths[k].read_bytes() for k in (0, 1, 2)}) == 3


def test_every_pmid_is_shifted_by_the_copy_number(copies):
    paths, counts, _ = copies
    original = _pmids(paths[0])
    assert len(original) > ARTICLES  # the citations' own PMIDs, their pubmed ArticleIds and cited PMIDs
    assert counts[1]["records"] == counts[2]["records"] == ARTICLES
    for k in (1, 2):
        assert _pmids(paths[k]) == [pmid + k * 100_000_000 for pmid in original]


def test_copy_zero_reads_as_the_source_and_copies_read_with_the_pubmed_reader(baseline, copies):
    paths, _, _ = copies
    reader = PubMedReader([str(baseline)])
    source = {}
    for doc in reader.read_file(str(baseline)):
        if doc.metadata["record"] >= ARTICLES:
            break
        source[int(doc.metadata["pmid"])] = doc.text
    assert _documents(paths[0]) == source
    every = sorted(_documents(paths[0], min_abstract_chars=0))  # replaced words move abstracts across the 200 chars
    assert sorted(_documents(paths[1], min_abstract_chars=0)) == [pmid + 100_000_000 for pmid in every]


def test_thirty_percent_of_words_are_replaced_so_copies_are_not_near_duplicates(bench, copies):
    scale_corpus, _ = bench
    paths, counts, _ = copies
    assert counts[1]["replaced"] / counts[1]["words"] == pytest.approx(0.3, abs=0.003)
    original = _documents(paths[0], min_abstract_chars=0)
    changed = total = 0
    for k in (1, 2):
        for pmid, text in _documents(paths[k], min_abstract_chars=0).items():
            before, after = (scale_corpus.WORD.findall(t) for t in (original[pmid - k * 100_000_000], text))
            assert len(before) == len(after)  # one word for one word
            differing = sum(a != b for a, b in zip(before, after))
            assert differing / len(before) > 0.15
            changed, total = changed + differing, total + len(before)
            assert _jaccard(before, after) < 0.5  # near-dedup's default threshold
    assert 0.25 < changed / total <= 0.3  # section labels are not replaced; a draw may give the same word


def _jaccard(a: list[str], b: list[str]) -> float:
    grams = [{tuple(words[i : i + 3]) for i in range(len(words) - 2)} for words in (a, b)]
    return len(grams[0] & grams[1]) / len(grams[0] | grams[1])


def test_the_corpus_is_cached_by_its_settings(bench, baseline, tmp_path):
    scale_corpus, _ = bench
    built = []
    files = scale_corpus.build_corpus(baseline, tmp_path, 3, seed=0, max_articles=20, log=built.append)
    assert [f.name for f in files] == ["pubmed20n9000.xml.gz", "pubmed20n9001.xml.gz", "pubmed20n9002.xml.gz"]
    assert len(built) == 3
    assert PubMedReader([str(tmp_path)]).files == [str(f) for f in files]  # names the reader takes
    first = [f.read_bytes() for f in files]
    built.clear()
    assert scale_corpus.build_corpus(baseline, tmp_path, 3, seed=0, max_articles=20, log=built.append) == files
    assert built == []
    scale_corpus.build_corpus(baseline, tmp_path, 2, seed=5, max_articles=20, log=built.append)
    assert len(built) == 2 and not files[2].exists() and files[1].read_bytes() != first[1]
    full = scale_corpus.build_corpus(baseline, tmp_path / "full", 1, log=built.append)
    assert full == [baseline]


def test_task_seconds_are_summed_per_stage_from_the_task_logs(bench, tmp_path):
    _, bench_scale = bench
    for stage, pipeline, rank, start, end, timed in [
        ("01_sources", "sources_0", 0, "00:00:01.000", "00:00:03.500", 2.0),
        ("01_sources", "sources_1", 0, "00:00:04.000", "00:00:05.000", 0),
        ("02_lang", "lang_0", 1, "00:00:05.000", "00:00:09.250", 4.0),
    ]:
        folder = tmp_path / "stages" / stage / "logs" / pipeline
        (folder / "logs").mkdir(parents=True)
        (folder / "stats").mkdir()
        lines = [
            f"2026-12-07 {start} | INFO     | logging:76 - Launching pipeline for rank={rank}",
            f"2026-12-07 {end} | SUCCESS  | base:140 - Processing done for rank={rank}",
        ]
        (folder / "logs" / f"task_{rank:05d}.log").write_text("\n".join(lines) + "\n")
        steps = [{"name": "🔻 - FILTER: a step", "time_stats": {"total": timed} if timed else 0, "stats": {}}]
        (folder / "stats" / f"{rank:05d}.json").write_text(json.dumps(steps))
    times = bench_scale.stage_times(tmp_path)
    assert list(times) == ["sources", "lang"]
    assert times["sources"] | {"steps": None} == {
        "tasks": 2,
        "task_s": 3.5,
        "timed_s": 2.0,
        "wall_s": 4.0,
        "steps": None,
    }
    assert times["lang"]["task_s"] == 4.25 and times["lang"]["steps"] == {"a step": 4.0}
