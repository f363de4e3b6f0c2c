"""NLM's official bulk locations for PubMed and the PMC Open Access subset, as directories to mirror.

PubMed: https://ftp.ncbi.nlm.nih.gov/pubmed/baseline/ (the yearly baseline) and .../updatefiles/ (daily
updates) hold `pubmedYYnNNNN.xml.gz`, each with a published `pubmedYYnNNNN.xml.gz.md5`.
PMC: https://ftp.ncbi.nlm.nih.gov/pub/pmc/oa_bulk/{oa_comm,oa_noncomm,oa_other}/xml/ hold baseline
packages (`oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.tar.gz`) and incremental ones
(`oa_comm_xml.incr.2025-07-01.tar.gz`), each with `.filelist.csv` / `.filelist.txt` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

NCBI_FTP = "https://ftp.ncbi.nlm.nih.gov"
PUBMED_ROOT = f"{NCBI_FTP}/pubmed/"
PMC_OA_BULK_ROOT = f"{NCBI_FTP}/pub/pmc/oa_bulk/"
PUBMED_KINDS = {"baseline": ("baseline",), "updates": ("updatefiles",), "all": ("baseline", "updatefiles")}
PMC_SUBSETS = ("oa_comm", "oa_noncomm", "oa_other")
PMC_KINDS = {"baseline": ("baseline",), "incr": ("incr",), "all": ("baseline", "incr")}
PUBMED_PATTERNS = ("pubmed*n*.xml.gz",)


@dataclass(frozen=True)
class RemoteSource:
    """One remote directory to mirror: its URL, the glob patterns selecting files, the local sub-folder."""

    url: str
    patterns: tuple[str, ...]
    subfolder: str


def _root(base_url: str | None, default: str) -> str:
    root = base_url or default
    return root if root.endswith("/") else root + "/"


def pubmed_sources(kind: str = "baseline", base_url: str | None = None) -> list[RemoteSource]:
    """The PubMed directories for `kind` ("baseline", "updates" or "all"), below `base_url`
    (default `PUBMED_ROOT`, the folder holding `baseline/` and `updatefiles/`)."""
    if kind not in PUBMED_KINDS:
        raise ValueError(f"unknown PubMed kind {kind!r}; known: {', '.join(PUBMED_KINDS)}")
    root = _root(base_url, PUBMED_ROOT)
    return [RemoteSource(f"{root}{folder}/", PUBMED_PATTERNS, folder) for folder in PUBMED_KINDS[kind]]


def pmc_patterns(subset: str, kind: str) -> tuple[str, ...]:
    """Glob patterns for one subset's packages of `kind` ("baseline" or "incr") and their file lists."""
    stem = f"{subset}_xml.PMC*.baseline.*" if kind == "baseline" else f"{subset}_xml.incr.*"
    return tuple(stem + suffix for suffix in (".tar.gz", ".filelist.csv", ".filelist.txt"))


def pmc_sources(
    subsets: tuple[str, ...] | list[str] = ("oa_comm",), kind: str = "baseline", base_url: str | None = None
) -> list[RemoteSource]:
    """One `{subset}/xml/` directory per subset below `base_url` (default `PMC_OA_BULK_ROOT`), with the
    patterns for `kind` ("baseline", "incr" or "all"); files land in a sub-folder named after the subset."""
    if kind not in PMC_KINDS:
        raise ValueError(f"unknown PMC kind {kind!r}; known: {', '.join(PMC_KINDS)}")
    unknown = [subset for subset in subsets if subset not in PMC_SUBSETS]
    if unknown or not subsets:
        raise ValueError(f"unknown PMC subset {unknown[0] if unknown else None!r}; known: {', '.join(PMC_SUBSETS)}")
    root = _root(base_url, PMC_OA_BULK_ROOT)
    return [
        RemoteSource(
            f"{root}{subset}/xml/",
            tuple(pattern for part in PMC_KINDS[kind] for pattern in pmc_patterns(subset, part)),
            subset,
        )
        for subset in dict.fromkeys(subsets)
    ]
