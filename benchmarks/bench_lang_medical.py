"""Benchmark: the two language-ID backends on real medical text: where they disagree, and their speed.

Input: every document the PubMed reader gives for the real baseline file with no language filter of its own
(`languages: []`, so non-English articles stay in), the 38 PMC articles, the NGC guideline pages and the two
guideline PDFs. Each backend labels every document as the `lang` stage does (first 2,000 characters, the
stage's defaults); the script prints the documents whose label or keep decision differs, with the start of
their text (these sources hold no patient data), so the disagreements can be judged by eye, and each
backend's MB/s over this process's CPU time (one core; the model load included).

Usage: python benchmarks/bench_lang_medical.py [--data ../shared/data] [--show N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchutil import DEFAULT_DATA


def documents(data: Path) -> list:
    from medcorpus.sources.guidelines.reader import GuidelineReader
    from medcorpus.sources.pmc.reader import PMCReader
    from medcorpus.sources.pubmed.reader import PubMedReader

    pubmed = list(PubMedReader([str(data / "pubmed" / "pubmed20n0014.xml.gz")], languages=[]).run())
    pmc = list(PMCReader([str(data / "pmc_oa")]).run())
    pages = [str(p) for p in sorted((data / "guidelines" / "html").rglob("*.htm*"))]
    pdfs = [str(p) for p in sorted((data / "guidelines" / "pdf").glob("*.pdf"))]
    guidelines = list(GuidelineReader(pages + pdfs).run())
    return pubmed + pmc + guidelines


def label(backend: str, docs: list) -> tuple[list[tuple[str, float]], list[bool], float]:
    """Each document's (language, score) and the stage's keep decision (`filter_batch`), and the CPU seconds."""
    from medcorpus.curation.language.filter import LanguageFilter

    started = time.process_time()
    step = LanguageFilter(backend=backend, seed=1234)
    keep = []
    for start in range(0, len(docs), 256):
        keep += [v if isinstance(v, bool) else v[0] for v in step.filter_batch(docs[start : start + 256])]
    seconds = time.process_time() - started
    found = [(doc.metadata["language"], doc.metadata["language_score"]) for doc in docs]
    return found, keep, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--show", type=int, default=100, help="disagreements printed")
    args = parser.parse_args()
    docs = documents(args.data)
    texts = [d.text for d in docs]
    megabytes = sum(len(t[:2000].encode()) for t in texts) / 1e6
    results = {backend: label(backend, docs) for backend in ("langdetect", "fasttext")}
    (ld, ld_keep, _), (ft, ft_keep, _) = results["langdetect"], results["fasttext"]
    by_source: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        row = by_source.setdefault(doc.metadata["source"], [0, 0, 0])
        row[0] += 1
        row[1] += ld[i][0] != ft[i][0]
        row[2] += ld_keep[i] != ft_keep[i]
    print(f"{len(docs)} documents, {megabytes:.1f} MB of sampled text (first 2,000 characters each)")
    for source, (count, labels, keeps) in sorted(by_source.items()):
        print(f"  {source:<12} {count:>6} documents: labels differ {labels}, keep decisions differ {keeps}")
    for backend, (_, keep, seconds) in results.items():
        print(f"  {backend:<11} keeps {sum(keep):>6}; {megabytes / seconds:.2f} MB/s ({seconds:.1f} CPU s)")
    shown = 0
    for i, doc in enumerate(docs):
        if (ld[i][0] != ft[i][0] or ld_keep[i] != ft_keep[i]) and shown < args.show:
            shown += 1
            snippet = " ".join(texts[i][:160].split())
            print(f"{doc.id}: langdetect {ld[i]} keep={ld_keep[i]} | fasttext {ft[i]} keep={ft_keep[i]}\n    {snippet}")


if __name__ == "__main__":
    main()
