"""Benchmark: guideline extraction on the real files, one core each.

PDF: pages per second over the WHO (91 pages) and CDC (44 pages) guidelines, through the reader as a run
uses it (each PDF parsed in a bounded child process, tables dropped, sections removed), then the same
extraction in-process, and the cost of the bounded worker per PDF (fork, limits, result sent back).
HTML: pages per second over the 18 real NGC guideline-synthesis pages, through the reader.
Each measurement runs in its own forked process; peak RSS covers it and the PDF workers it started.
Targets (issue): >= 5 PDF pages/s and >= 20 HTML pages/s per core.

Usage: python benchmarks/bench_guidelines.py [--data ../shared/data] [--pdf-repeats 3] [--html-repeats 10]
Skips a part with a message when its data is absent.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from benchutil import DEFAULT_DATA, in_child

PDFS = (
    "WHO_2016_IPC_core_components_guidelines.pdf",
    "CDC_2016_Guide_to_Infection_Prevention_Outpatient_Settings_v2.3.pdf",
)
NGC = Path("guidelines/html/ngc_guideline_gov_2018/syntheses")


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the PDF workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def read_pages(paths: list[str], repeats: int, **options) -> dict:
    """Documents and pages read by GuidelineReader over `paths`, `repeats` times, with wall and CPU seconds."""
    from medcorpus.sources.guidelines import GuidelineReader

    reader = GuidelineReader(paths, **options)
    started, cpu = time.perf_counter(), cpu_seconds()
    documents = pages = 0
    for _ in range(repeats):
        for document in reader.run():
            documents += 1
            pages += document.metadata.get("pages", 1)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"seconds": seconds, "cpu": cpu, "documents": documents, "pages": pages}


def pdf_in_process(paths: list[str], repeats: int) -> dict:
    """The same PDF extraction without the worker (no fork, no limits)."""
    from medcorpus.sources.guidelines.pdf.extract import extract_pdf

    data = [Path(path).read_bytes() for path in paths]
    started, cpu = time.perf_counter(), cpu_seconds()
    pages = sum(extract_pdf(item).pages for _ in range(repeats) for item in data)
    return {"seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu, "pages": pages}


def worker_overhead(calls: int) -> dict:
    """Seconds per call of the bounded worker around a function that does nothing."""
    from medcorpus.sources.guidelines.pdf.worker import run_bounded

    started = time.perf_counter()
    for _ in range(calls):
        run_bounded(len, (b"x",), timeout_s=60, memory_mb=2048)
    return {"seconds": (time.perf_counter() - started) / calls}


def bench_pdf(data: Path, repeats: int) -> None:
    paths = [str(data / "guidelines" / "pdf" / name) for name in PDFS]
    missing = [path for path in paths if not Path(path).is_file()]
    if missing:
        print(f"SKIP pdf: {', '.join(missing)} not found")
        return
    bounded = in_child(read_pages, paths, repeats)
    print(
        f"guideline PDFs via reader (bounded worker, tables dropped, sections removed): {bounded['pages']} pages "
        f"({bounded['documents']} PDFs) in {bounded['seconds']:.2f} s = {bounded['pages'] / bounded['seconds']:.1f} "
        f"pages/s per core ({bounded['pages'] / bounded['cpu']:.1f} per CPU second; target >= 5), "
        f"peak RSS {bounded['peak_rss_mb']:.0f} MB"
    )
    plain = in_child(pdf_in_process, paths, repeats)
    print(
        f"guideline PDFs in-process (no worker): {plain['pages'] / plain['seconds']:.1f} pages/s per core "
        f"({plain['pages'] / plain['cpu']:.1f} per CPU second), peak RSS {plain['peak_rss_mb']:.0f} MB"
    )
    empty = in_child(worker_overhead, 50)
    print(f"bounded worker overhead (fork, limits, result back): {empty['seconds'] * 1000:.1f} ms per PDF")


def bench_html(data: Path, repeats: int) -> None:
    folder = data / NGC
    paths = sorted(str(path) for path in folder.iterdir()) if folder.is_dir() else []
    if not paths:
        print(f"SKIP html: no pages under {folder}")
        return
    result = in_child(read_pages, paths, repeats)
    print(
        f"guideline HTML via reader (trafilatura, Markdown rendering, sections removed): {result['documents']} pages "
        f"in {result['seconds']:.2f} s = {result['documents'] / result['seconds']:.1f} pages/s per core "
        f"({result['documents'] / result['cpu']:.1f} per CPU second; target >= 20), "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pdf-repeats", type=int, default=3, help="passes over the two PDFs")
    parser.add_argument("--html-repeats", type=int, default=10, help="passes over the 18 HTML pages")
    args = parser.parse_args()
    bench_pdf(args.data, args.pdf_repeats)
    bench_html(args.data, args.html_repeats)


if __name__ == "__main__":
    main()
