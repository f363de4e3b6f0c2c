"""Benchmark: PubMed and PMC readers on the real samples, one core each.

PubMed: MB of XML per second and peak RSS on the 174 MB baseline file (gzip), through the
reader alone and through the whole source stage (reading, then update/PMC resolution).
PMC: articles per second over the 38 real `.nxml` articles, as files and streamed from a tar.gz.
Each measurement runs in its own forked process so its peak RSS is its own.

Usage: python benchmarks/bench_sources.py [--data ../shared/data] [--pmc-repeats 20]
Skips a part with a message when its data is absent.
"""

from __future__ import annotations

import argparse
import gzip
import tarfile
import tempfile
import time
from pathlib import Path

from benchutil import DEFAULT_DATA, in_child


def pubmed_reader(path: Path) -> dict:
    from medcorpus.sources.pubmed.reader import PubMedReader

    started = time.perf_counter()
    documents = sum(1 for _ in PubMedReader([str(path)]).run())
    return {"seconds": time.perf_counter() - started, "documents": documents}


def pubmed_stage(path: Path) -> dict:
    from medcorpus.run.config import SourceConfig
    from medcorpus.run.context import StageContext
    from medcorpus.run.executors import run_stages
    from medcorpus.run.stages import source_stage

    with tempfile.TemporaryDirectory() as out:
        stage = source_stage(
            {"pubmed": SourceConfig(type="pubmed", inputs=[str(path)])}, StageContext(out, "parquet", 1)
        )
        started = time.perf_counter()
        run_stages([stage], "local", 1)
        return {"seconds": time.perf_counter() - started}


def pmc_reader(inputs: list[str], repeats: int) -> dict:
    from medcorpus.sources.pmc.reader import PMCReader

    reader = PMCReader(inputs)
    started = time.perf_counter()
    articles = sum(sum(1 for _ in reader.run()) for _ in range(repeats))
    return {"seconds": time.perf_counter() - started, "articles": articles}


def bench_pubmed(data: Path) -> None:
    path = data / "pubmed" / "pubmed20n0014.xml.gz"
    if not path.is_file():
        print(f"SKIP pubmed: {path} not found")
        return
    with gzip.open(path, "rb") as handle:
        xml_mb = sum(len(chunk) for chunk in iter(lambda: handle.read(1 << 20), b"")) / 1e6
    reader = in_child(pubmed_reader, path)
    rate = xml_mb / reader["seconds"]
    print(
        f"pubmed reader: {xml_mb:.0f} MB XML ({path.stat().st_size / 1e6:.1f} MB gzip), {reader['documents']:,} "
        f"documents in {reader['seconds']:.2f} s = {rate:.1f} MB/s per core, peak RSS {reader['peak_rss_mb']:.0f} MB"
    )
    stage = in_child(pubmed_stage, path)
    print(
        f"pubmed source stage (read, resolve updates and PMC links, write Parquet): {stage['seconds']:.2f} s = "
        f"{xml_mb / stage['seconds']:.1f} MB/s per core, peak RSS {stage['peak_rss_mb']:.0f} MB"
    )


def bench_pmc(data: Path, repeats: int) -> None:
    folder = data / "pmc_oa"
    files = sorted(str(p) for p in folder.rglob("*.nxml")) if folder.is_dir() else []
    if not files:
        print(f"SKIP pmc: no .nxml under {folder}")
        return
    result = in_child(pmc_reader, files, repeats)
    print(
        f"pmc reader (.nxml files): {result['articles']:,} articles in {result['seconds']:.2f} s = "
        f"{result['articles'] / result['seconds']:.0f} articles/s per core, peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "oa_comm_xml.sample.tar.gz"
        with tarfile.open(package, "w:gz") as archive:
            for name in files:
                archive.add(name, arcname=f"PMC/{Path(name).name}")
        result = in_child(pmc_reader, [str(package)], repeats)
    print(
        f"pmc reader (streamed tar.gz): {result['articles']:,} articles in {result['seconds']:.2f} s = "
        f"{result['articles'] / result['seconds']:.0f} articles/s per core, peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pmc-repeats", type=int, default=20, help="passes over the PMC articles")
    args = parser.parse_args()
    bench_pubmed(args.data)
    bench_pmc(args.data, args.pmc_repeats)


if __name__ == "__main__":
    main()
