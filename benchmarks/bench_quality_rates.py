"""Benchmark: what the quality filter removes, per source and reason, on the real samples.

Each source is read with its own reader (PubMed baseline, PMC articles, guideline HTML pages and PDFs,
Dolma/Common Crawl general text, MIMIC format look-alikes), then cleaned and language-filtered as in a run,
then judged by `QualityFilter` with the shipped profiles (or `--profiles`, a YAML/JSON file of overrides).
Clinical text: the PhysioNet deid nursing notes and the Open-i chest X-ray reports stand in for MIMIC
notes (MIMIC itself is credentialed); they are read as documents of source `mimic3` / `mimiccxr`.
Only counts are printed, never text.

Usage: python benchmarks/bench_quality_rates.py [--data ../shared/data] [--pubmed-limit 0] [--profiles f.yaml]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import time
from collections import Counter
from pathlib import Path

from benchutil import DEFAULT_DATA

os.environ.setdefault("LOGURU_LEVEL", "ERROR")  # before datatrove sets up its logger

from datatrove.data import Document  # noqa: E402
from datatrove.utils.batching import batched  # noqa: E402


def _doc(text: str, source: str, n: int) -> Document:
    return Document(text=text, id=f"{source}:{n}", metadata={"source": source, "category": "clinical"})


def deid_notes(data: Path) -> list[Document]:
    """The PhysioNet deid nursing notes (MIMIC-II, surrogate PHI) as clinical documents."""
    path = data / "deid/physionet_deid_dev/id.text"
    text = path.read_text(encoding="latin-1")
    notes = re.findall(r"START_OF_RECORD=[^\n]*\n(.*?)\|\|\|\|END_OF_RECORD", text, flags=re.S)
    return [_doc(note, "mimic3", i) for i, note in enumerate(notes)]


def cxr_reports(data: Path) -> list[Document]:
    """Open-i chest X-ray reports laid out like MIMIC-CXR reports (FINDINGS / IMPRESSION sections)."""
    path = data / "mimic/lookalikes/iu_xray_openi/indiana_reports.csv"
    docs = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            parts = [f"{name.upper()}: {row[name]}" for name in ("indication", "comparison", "findings", "impression")]
            docs.append(_doc("\n".join(part for part in parts if not part.endswith(": ")), "mimiccxr", i))
    return docs


def read_source(kind: str, inputs: list[Path], **options) -> list[Document]:
    from medcorpus.sources import reader_class

    return list(reader_class(kind)([str(p) for p in inputs], **options).run())


def sources(data: Path, pubmed_limit: int) -> dict[str, list[Document]]:
    """Every sample set that is present, read into documents."""
    found: dict[str, list[Document]] = {}
    specs = {
        "pubmed": ("pubmed", [data / "pubmed/pubmed20n0014.xml.gz"], {"limit": pubmed_limit or -1}),
        "pmc": ("pmc", [data / "pmc_oa"], {}),
        "guidelines (html)": ("guidelines", [data / "guidelines/html"], {"site": "ngc"}),
        "guidelines (pdf)": ("guidelines", [data / "guidelines/pdf"], {"site": "pdf"}),
        "general (dolma)": ("general", [data / "general/dolma_test_data"], {}),
    }
    for name, (kind, inputs, options) in specs.items():
        if all(path.exists() for path in inputs):
            found[name] = read_source(kind, inputs, **options)
        else:
            print(f"SKIP {name}: {inputs[0]} not found")
    if (data / "deid").is_dir():
        found["clinical (deid nursing notes)"] = deid_notes(data)
    if (data / "mimic/lookalikes/iu_xray_openi").is_dir():
        found["clinical (Open-i CXR reports)"] = cxr_reports(data)
    return found


def measure(docs: list[Document], profiles: dict | None) -> dict:
    """Documents before and after cleaning + language, and the quality filter's removals by reason."""
    from medcorpus.curation.clean.cleaner import TextCleaner
    from medcorpus.curation.language.filter import LanguageFilter
    from medcorpus.curation.quality.filter import QualityFilter

    cleaned = list(LanguageFilter(seed=1234).run(TextCleaner().run(iter(docs))))
    step = QualityFilter(profiles)
    reasons: Counter = Counter()
    started = time.perf_counter()
    for batch in batched(cleaned, step.batch_size):  # the numpy batches the filter judges in a pipeline
        verdicts = step.judge_all([doc.text for doc in batch], [step.profile_for(doc) for doc in batch])
        reasons.update(failed[0] for failed in verdicts if failed)
    seconds = time.perf_counter() - started
    mb = sum(len(doc.text.encode("utf-8")) for doc in cleaned) / 1e6
    profiles_used = Counter(step.profile_name(doc) for doc in cleaned)
    return {"read": len(docs), "judged": len(cleaned), "reasons": reasons, "mb_s": mb / max(seconds, 1e-9),
            "profiles": profiles_used}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pubmed-limit", type=int, default=0, help="Read at most this many PubMed records (0: all).")
    parser.add_argument("--profiles", type=Path, help="YAML/JSON file of profile overrides {name: {threshold: v}}.")
    args = parser.parse_args()
    profiles = None
    if args.profiles:
        import yaml

        profiles = yaml.safe_load(args.profiles.read_text())
    print(f"{'source':<32}{'read':>7}{'judged':>8}{'removed':>9}{'rate':>8}{'MB/s':>7}  profile: reasons")
    for name, docs in sources(args.data, args.pubmed_limit).items():
        result = measure(docs, profiles)
        removed = sum(result["reasons"].values())
        rate = removed / max(result["judged"], 1)
        used = ",".join(sorted(result["profiles"]))
        reasons = ", ".join(f"{reason} {count}" for reason, count in result["reasons"].most_common())
        print(
            f"{name:<32}{result['read']:>7}{result['judged']:>8}{removed:>9}{rate:>8.1%}{result['mb_s']:>7.1f}"
            f"  {used}: {reasons or '-'}"
        )


if __name__ == "__main__":
    main()
