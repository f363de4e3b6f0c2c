"""Benchmark: precision and recall of near-duplicate removal on real documents with injected copies.

Originals: English PubMed abstracts (baseline file), PMC articles and Common Crawl pages (Dolma), read
with medcorpus's own readers. Each copy is an edited version of one original, written under another
source (so every match is cross-source): word edits at several rates, truncations, reordered
paragraphs, an added site header and footer, and an abstract embedded in a longer article. The rest
of the originals stay untouched. The stage runs exactly as `medcorpus curate near_dedup` runs it.
The defaults were tuned on the set this script builds by default; `--held-out` builds the set from
originals that set does not contain (later PubMed abstracts and web pages, no PMC articles) with
another seed, so its figures are the ones that count.
Usage: python benchmarks/bench_near_dedup.py [--held-out] [--sweep] [--out /tmp/medcorpus_bench_near_dedup]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from collections import Counter
from pathlib import Path

from benchutil import DEFAULT_DATA, in_child

from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import NearDedupConfig
from medcorpus.run.context import StageContext
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import curation_stage
from medcorpus.sources import reader_class

HEADER = "Home | About us | Health topics | News | Contact | Sign in | Search this site | Accessibility options"
FOOTER = (
    "Copyright all rights reserved. Terms of use. Privacy policy. Cookie settings. This page was last "
    "reviewed recently. Share on social media. Subscribe to our newsletter for the latest updates."
)
KINDS = ("exact", "edit_1", "edit_3", "edit_5", "edit_10", "truncate_90", "truncate_70", "reorder", "boilerplate")
SOURCES = ("pmc", "guidelines", "general", "pubmed")


def words_edited(text: str, rate: float, rng: random.Random) -> str:
    """Substitute, delete or duplicate a share `rate` of the words."""
    out: list[str] = []
    words = text.split()
    for word in words:
        if rng.random() >= rate:
            out.append(word)
            continue
        action = rng.randrange(3)
        if action == 0:
            out.append(rng.choice(words))
        elif action == 2:
            out += [word, rng.choice(words)]
    return " ".join(out)


def reordered(text: str, rng: random.Random) -> str:
    """Paragraphs (or groups of three sentences, for one-paragraph texts) in a shuffled order."""
    parts = [part for part in text.split("\n") if part.strip()]
    if len(parts) < 4:
        sentences = text.replace("\n", " ").split(". ")
        parts = [". ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    rng.shuffle(parts)
    return "\n".join(parts)


def injected(kind: str, text: str, rng: random.Random) -> str:
    if kind == "exact":
        return text
    if kind.startswith("edit_"):
        return words_edited(text, int(kind[5:]) / 100, rng)
    if kind.startswith("truncate_"):
        words = text.split()
        return " ".join(words[: len(words) * int(kind[9:]) // 100])
    if kind == "reorder":
        return reordered(text, rng)
    return f"{HEADER}\n{text}\n{FOOTER}"


def originals(data: Path, abstracts: int, pages: int) -> list[tuple[str, str, str]]:
    """(id, source, text) of real documents: PubMed abstracts (of the first `abstracts` records), PMC articles,
    up to `pages` Common Crawl pages."""
    pubmed = reader_class("pubmed")([str(data / "pubmed" / "pubmed20n0014.xml.gz")], limit=abstracts)
    pmc = reader_class("pmc")([str(data / "pmc_oa")])
    web = reader_class("general")([str(data / "general" / "dolma_test_data")], name="general")
    found = [(d.id, "pubmed", d.text) for d in pubmed.run() if len(d.text.split()) >= 120]
    found += [(d.id, "pmc", d.text) for d in pmc.run()]
    found += [(d.id, "general", d.text) for d in web.run() if len(d.text.split()) >= 150][:pages]
    return found


def build(data: Path, abstracts: int, pages: int, per_kind: int, seed: int = 7, held_out: bool = False):
    """The test set: documents and, for each copy, (kind, original id).

    `held_out`: only originals outside the default (tuning) set, read from twice as many records and pages.
    """
    rng = random.Random(seed)
    docs = originals(data, abstracts, pages)
    if held_out:
        tuning = {doc_id for doc_id, _, _ in docs}
        docs = [d for d in originals(data, 2 * abstracts, 2 * pages) if d[0] not in tuning]
    texts = {doc_id: text for doc_id, _, text in docs}
    pool = [doc for doc in docs if doc[1] != "pmc"]
    rng.shuffle(pool)
    truth: dict[str, tuple[str, str]] = {}
    for k, kind in enumerate(KINDS):
        for i, (doc_id, source, text) in enumerate(pool[k * per_kind : (k + 1) * per_kind]):
            target = next(s for s in SOURCES[i % 3 :] + SOURCES if s != source)
            copy_id = f"{target}:copy-{kind}-{i}"
            docs.append((copy_id, target, injected(kind, text, rng)))
            truth[copy_id] = (kind, doc_id)
    articles = [doc for doc in docs if doc[1] == "pmc" and doc[0] not in truth]
    used = (len(KINDS)) * per_kind
    for i, (doc_id, _, _text) in enumerate(pool[used : used + len(articles)]):
        if doc_id.startswith("pubmed"):  # an abstract inside a long article (replacing that PMC article)
            copy_id = f"pmc:embedded-{i}"
            docs.remove(articles[i])
            docs.append((copy_id, "pmc", f"{texts[doc_id]}\n{articles[i][2]}"))
            truth[copy_id] = ("embedded", doc_id)
    return docs, truth


def write(folder: Path, docs) -> None:
    writers = {}
    for doc_id, source, text in docs:
        if source not in writers:
            writers[source] = make_writer(str(folder), filename=f"{source}/${{rank}}").__enter__()
        category = "general" if source == "general" else "biomedical"
        metadata = {"source": source, "category": category, "license": "bench"}
        from datatrove.data import Document

        writers[source].write(Document(text=text, id=doc_id, metadata=metadata), 0)
    for writer in writers.values():
        writer.close()


def run(inputs: Path, out: Path, settings: dict, tasks: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    params = NearDedupConfig(**settings).model_dump()
    stage = curation_stage("near_dedup", params, [str(inputs)], StageContext(str(out), "parquet", tasks), 0)
    started = time.perf_counter()
    run_stages([stage], "local", tasks)
    seconds = time.perf_counter() - started
    removed = {}
    for doc in make_reader(str(out / "excluded"), doc_progress=False).run():
        metadata = json.loads(doc.metadata) if isinstance(doc.metadata, str) else doc.metadata
        removed[doc.id] = metadata["duplicate_of"]
    return {"removed": removed, "seconds": seconds}


def score(removed: dict[str, str], truth: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """Per kind: pairs found (recall) and removals that were right (precision)."""
    group = {copy: original for copy, (_, original) in truth.items()}
    kind_of = {copy: kind for copy, (kind, _) in truth.items()} | {orig: kind for kind, orig in truth.values()}
    rows: dict[str, Counter] = {kind: Counter() for kind in (*KINDS, "embedded", "untouched")}
    for kind, _ in truth.values():
        rows[kind]["pairs"] += 1
    root = {doc: group.get(doc, doc) for doc in set(removed) | set(removed.values())}
    for copy, original in group.items():
        if (
            removed.get(copy) == original
            or removed.get(original) == copy
            or (copy in removed and original in removed and removed[copy] == removed[original])
        ):
            rows[kind_of[copy]]["found"] += 1
    for doc, kept in removed.items():
        row = rows[kind_of.get(doc, kind_of.get(kept, "untouched"))]
        row["removed"] += 1
        row["right"] += root.get(doc, doc) == root.get(kept, kept)
    return {kind: dict(row) for kind, row in rows.items()}


def report(name: str, result: dict, truth: dict) -> None:
    rows = score(result["removed"], truth)
    seconds, rss = result["seconds"], result["peak_rss_mb"]
    print(f"\n{name}: {len(result['removed'])} removed in {seconds:.1f}s, peak RSS {rss:.0f} MB")
    print(f"{'kind':<13}{'pairs':>6}{'found':>6}{'recall':>8}{'removed':>8}{'precision':>10}")
    for kind, row in rows.items():
        recall = f"{row.get('found', 0) / row['pairs']:.3f}" if row.get("pairs") else "-"
        precision = f"{row.get('right', 0) / row['removed']:.3f}" if row.get("removed") else "-"
        counts = f"{row.get('pairs', 0):>6}{row.get('found', 0):>6}{recall:>8}{row.get('removed', 0):>8}"
        print(f"{kind:<13}{counts}{precision:>10}")
    found = sum(row.get("found", 0) for row in rows.values())
    right = sum(row.get("right", 0) for row in rows.values())
    removed = sum(row.get("removed", 0) for row in rows.values())
    scored = [k for k in rows if k not in ("embedded", "untouched")]
    pairs = sum(rows[k].get("pairs", 0) for k in scored)
    print(
        f"overall (without embedded): recall {sum(rows[k].get('found', 0) for k in scored) / pairs:.3f}, "
        f"precision {right / max(removed, 1):.3f}; all kinds recall {found / len(truth):.3f}"
    )


def cluster_memory(folder: Path, documents: int, tasks: int = 8) -> dict:
    """Peak RSS of pass 3 (the only single-task pass) when `documents` documents all sit in pairs.

    Pass 1's files are synthesised: each pair of consecutive documents shares every MinHash value
    but one, and is listed once in each band's `.dups` file, as datatrove's bucket pass writes it.
    """
    import struct

    import numpy as np

    from medcorpus.curation.dedup.near.clusters import NearDedupCluster
    from medcorpus.curation.dedup.near.pipeline import minhash_config
    from medcorpus.curation.dedup.near.records import INFO, docs_paths

    shutil.rmtree(folder, ignore_errors=True)
    settings = NearDedupConfig()
    config = minhash_config(settings.ngram, settings.bands, settings.rows)
    hashes = settings.bands * settings.rows
    per_task = documents // tasks
    (folder / "docs").mkdir(parents=True)
    (folder / "buckets").mkdir()
    rng = np.random.default_rng(0)
    for rank in range(tasks):
        info, ids, full = docs_paths(folder / "docs", rank)
        names = [f"general:{rank}-{i}".encode() for i in range(per_task)]
        offsets = np.cumsum([0] + [len(name) for name in names])
        info.write_bytes(b"".join(INFO.pack(1, 1000 + i % 7, offsets[i], len(n)) for i, n in enumerate(names)))
        ids.write_bytes(b"".join(names))
        sigs = rng.integers(0, 2**61, size=(per_task, hashes), dtype=np.uint64)
        sigs[1::2] = sigs[0::2][: len(sigs[1::2])]
        sigs[1::2, 0] += 1
        full.write_bytes(sigs.tobytes())
    pairs = b"".join(
        struct.pack("<4I", rank, i, rank, i + 1) for rank in range(tasks) for i in range(0, per_task - 1, 2)
    )
    for band in range(settings.bands):
        (folder / "buckets" / f"{band:05d}_00.dups").write_bytes(pairs)

    def cluster() -> dict:
        step = NearDedupCluster(
            str(folder / "buckets"), str(folder / "docs"), str(folder / "remove"), config, 0.5, ["id"]
        )
        started = time.perf_counter()
        step.run()
        return {"seconds": time.perf_counter() - started}

    result = in_child(cluster, quiet=True)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/medcorpus_bench_near_dedup")
    parser.add_argument("--abstracts", type=int, default=3000)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--sweep", action="store_true", help="also try other bands/rows/threshold settings")
    parser.add_argument("--held-out", action="store_true", help="originals the defaults were not tuned on (seed 8)")
    parser.add_argument("--memory", type=int, nargs="*", default=[100_000, 400_000], help="documents for pass 3")
    args = parser.parse_args()
    if not DEFAULT_DATA.is_dir():
        print(f"SKIP: real data not found at {DEFAULT_DATA}")
        return
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    seed = 8 if args.held_out else 7
    docs, truth = build(DEFAULT_DATA, args.abstracts, args.pages, args.per_kind, seed, args.held_out)
    write(out / "inputs", docs)
    print(f"{len(docs)} documents, {len(truth)} injected copies ({len(docs) - len(truth)} originals)")
    grid = [{}]
    if args.sweep:
        grid += [
            {"bands": b, "rows": r, "threshold": t, "ngram": n}
            for n in (5, 3)
            for b, r in ((14, 8), (20, 5), (32, 4), (20, 4))
            for t in (None, 0.5, 0.7)
        ]
    for settings in grid:
        result = in_child(run, out / "inputs", out / "run", settings, args.tasks, quiet=True)
        name = json.dumps(settings or NearDedupConfig().model_dump(exclude={"priority", "keep"}))
        report(("" if settings else "defaults ") + name, result, truth)
    baseline = in_child(lambda: {})["peak_rss_mb"]
    sizes = []
    for documents in args.memory:
        result = cluster_memory(out / "memory", documents)
        sizes.append((documents, result["peak_rss_mb"]))
        seconds, rss = result["seconds"], result["peak_rss_mb"]
        print(f"pass 3 with {documents:,} duplicated documents: {seconds:.1f}s, peak RSS {rss:.0f} MB")
    if len(sizes) >= 2:
        (low, low_mb), (high, high_mb) = sizes[0], sizes[-1]
        slope = (high_mb - low_mb) / (high - low) * 1_000_000
        print(f"pass 3: {slope:.0f} MB per million duplicated documents (slope), {baseline:.0f} MB with none loaded")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
