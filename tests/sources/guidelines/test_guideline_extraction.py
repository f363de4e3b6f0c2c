"""Guideline extraction: section removal, tables and contents pages, recommendation grades, the bounded PDF worker."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pymupdf
import pytest
from support.helpers import read_all

from medcorpus.sample_inputs.guidelines.make_pdf import write_sample_pdf
from medcorpus.sources.guidelines import GuidelineReader
from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS
from medcorpus.sources.guidelines.pdf import worker as pdf_worker
from medcorpus.sources.guidelines.pdf.extract import PdfError, extract_pdf
from medcorpus.sources.guidelines.sections import heading_like, heading_name, remove_sections

NGC = Path("guidelines/html/ngc_guideline_gov_2018/syntheses")
WHO = Path("guidelines/pdf/WHO_2016_IPC_core_components_guidelines.pdf")
CDC = Path("guidelines/pdf/CDC_2016_Guide_to_Infection_Prevention_Outpatient_Settings_v2.3.pdf")
# Recommendations with their strength and evidence grades, as the NGC pages give them.
NGC_GRADES = {
    "neurology__48511.htm": ["steroids should be offered to increase the probability of recovery", "(Level A)"],
    "gastroenterology__50577.htm": ["Strong recommendation based on low-quality evidence, 1C"],
    "endocrinology__50702.htm": ["Quality of evidence: Low)", "Strong recommendation, moderate-quality evidence"],
}
# Entries of the real reference lists, contents pages, acknowledgements and declarations of interest.
WHO_GONE = [
    "Zingg W",
    "Mernelius S, Lofgren S, Lindgren PE",
    "Haley RW, Culver DH",
    "Acknowledgements 4",
    "References 77",
    "1a Health care facility level 30",
    "Rosemary Sudan provided professional editing assistance",
    "In accordance with WHO policy, all members of the Guidelines Development Group",
]
CDC_GONE = [
    "Barie PS. Infection Control Practices in Ambulatory Surgical Centers",
    "Jarvis WR. Infection control and changing health-care delivery systems",
    "Goodman RA, Solomon SL.",
]


def flat(text: str) -> str:
    return " ".join(text.split())


def raw_pdf_text(path: Path) -> str:
    with pymupdf.open(path) as doc:
        return flat(" ".join(page.get_text() for page in doc))


@pytest.mark.parametrize(
    ("heading", "name"),
    [
        ("7. References", "references"),
        ("## 4.2 References", "references"),
        ("Conflicts of Interest Statement", "conflicts of interest"),
        ("Disclosure of potential conflicts", "disclosures"),
        ("Sources of Funding", "funding"),
        ("Acknowledgement of financial support", "acknowledgements"),
        ("ABOUT THIS GUIDELINE", "about this guideline"),
        ("Appendix B: Bibliography", "bibliography"),
        ("Funding of national IPC programmes", None),
        ("Reference standards for diagnosis", None),
        ("Recommendations", None),
    ],
)
def test_heading_names_tolerate_numbering_and_wording(heading, name):
    assert heading_name(heading.lstrip("# "), DEFAULT_REMOVED_SECTIONS) == name


def test_remove_sections_by_markdown_level_and_plain_headings():
    text = "\n".join(
        [
            "# Guideline",
            "## Recommendations",
            "Offer oral amoxicillin for five days (strong recommendation, moderate-quality evidence).",
            "## 5. References",
            "1. Smith J. A trial of amoxicillin. J Example. 2020;1:1-9.",
            "### Further reading",
            "Jones K. Another paper. 2019.",
            "## Implementation",
            "Audit the time to the first dose.",
            "# Funding and disclosures",
            "The work was funded by the example trust.",
        ]
    )
    out, removed = remove_sections(text, DEFAULT_REMOVED_SECTIONS)
    assert removed == ["references", "funding"]
    assert out.splitlines() == [
        "# Guideline",
        "## Recommendations",
        "Offer oral amoxicillin for five days (strong recommendation, moderate-quality evidence).",
        "## Implementation",
        "Audit the time to the first dose.",
    ]
    flat_text = (
        "Diagnosis\nTest early.\nCONFLICTS OF INTEREST\nNone declared by the panel.\nFollow-up\nReview at six weeks."
    )
    out, removed = remove_sections(flat_text, ["conflicts of interest"])
    assert out == "Diagnosis\nTest early.\nFollow-up\nReview at six weeks." and removed == ["conflicts of interest"]
    assert remove_sections(text, []) == (text, [])
    assert not heading_like("1. Offer amoxicillin to children with acute otitis media and fever.")
    assert heading_like("7. References") and not heading_like("- Funding")


@pytest.mark.parametrize("name", sorted(NGC_GRADES))
def test_ngc_recommendations_and_grades_are_kept(shared_data, name):
    docs, rejects = read_all(GuidelineReader([str(shared_data / NGC / name)], site="ngc"))
    assert rejects == [] and len(docs) == 1
    text = flat(docs[0].text)
    for grade in NGC_GRADES[name]:
        assert grade in text, grade
    assert "## Strength of Evidence and Recommendation Grading Schemes" in docs[0].text  # a heading, kept


@pytest.fixture(scope="module")
def real_pdfs(shared_data):
    """{(name, tables mode): document} for the WHO and CDC PDFs read through the reader (bounded worker)."""
    out = {}
    for mode in ("drop", "keep"):
        paths = [str(shared_data / WHO), str(shared_data / CDC)]
        docs, rejects = read_all(GuidelineReader(paths, site="real", pdf_tables=mode))
        assert rejects == []
        out.update({(d.metadata["url"][:3], mode): d for d in docs})
    return out


def test_real_pdfs_drop_references_contents_and_boilerplate(shared_data, real_pdfs):
    for path, gone in ((WHO, WHO_GONE), (CDC, CDC_GONE)):
        raw, doc = raw_pdf_text(shared_data / path), real_pdfs[path.name[:3], "drop"]
        text = flat(doc.text)
        for passage in gone:
            assert passage in raw and passage not in text, passage  # in the PDF, not in the document
        assert doc.metadata["sections_removed"] >= 1
    who = real_pdfs["WHO", "drop"].text
    assert "Contents" not in who.splitlines() and "# Annexes" in who.splitlines()  # annexes are not removed
    for doc in (who, real_pdfs["CDC", "drop"].text):
        assert not re.search(r"^\d{1,3}$|\.{4,}\s*\d+$", doc, re.M)  # no page numbers, no dotted leaders
        assert not re.search(r"\b(?:infec|preven|recom|pro|guide)- (?:tion|mendation|grammes|lines)\b", doc)


def test_real_pdfs_keep_headings_and_recommendations(real_pdfs):
    who, cdc = real_pdfs["WHO", "drop"].text, real_pdfs["CDC", "drop"].text
    who_lines, cdc_lines = set(who.splitlines()), set(cdc.splitlines())
    assert {"# 4 Methods", "## 4.1 WHO guidelines development process", "# Executive Summary"} <= who_lines
    assert {"# INTRODUCTION", "### Hand Hygiene", "### Injection Safety"} <= cdc_lines
    assert "The panel recommends that an IPC programme with a dedicated, trained team should be in place" in flat(who)
    assert "(Strong recommendation, very low quality of evidence)" in who_lines
    assert "Key recommendations for hand hygiene in outpatient settings:" in cdc_lines
    # a section title set above two columns comes before the columns' text
    assert cdc.index("# INTRODUCTION") < cdc.index("The transition of healthcare delivery from acute care hospitals")


def test_real_pdf_tables_dropped_or_kept(real_pdfs):
    dropped, kept = real_pdfs["CDC", "drop"], real_pdfs["CDC", "keep"]
    assert dropped.metadata["tables"] == kept.metadata["tables"] >= 20  # the checklist's tables
    assert "Is the facility licensed by the state?" not in dropped.text
    row = next(line for line in kept.text.splitlines() if line.startswith("| Is the facility licensed by the state? |"))
    assert "Yes No" in row
    who = real_pdfs["WHO", "keep"].text
    assert "| Core component | Recommendation or good practice statement | Key remarks |" in who
    assert "| Core component |" not in real_pdfs["WHO", "drop"].text
    # the recommendation boxes are framed, not tables: their text stays in both modes
    for mode in ("drop", "keep"):
        assert "(Strong recommendation, very low quality of evidence)" in real_pdfs["WHO", mode].text


def synthetic_pdf(path: Path) -> Path:
    """A three-page guideline: a contents page, a table with a framed box beside it, references, an annex."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 80), "Contents", fontsize=20)
    for n, (entry, number) in enumerate([("Introduction", 2), ("Recommendations", 2), ("References", 3)]):
        page.insert_text((72, 120 + 20 * n), f"{entry} {'.' * 40} {number}", fontsize=11)
    page = doc.new_page()
    page.insert_text((72, 80), "Introduction", fontsize=16, fontname="hebo")
    body = "Hand hygiene prevents infection in every clinic and ward of the service."
    for n in range(4):
        page.insert_text((72, 110 + 16 * n), body, fontsize=11)
    page.insert_text((72, 200), "Recommendations", fontsize=16, fontname="hebo")
    page.insert_text((72, 225), "Offer alcohol hand rub at the point of care (strong recommendation).", fontsize=11)
    for y in (250, 275, 300):
        page.draw_line((72, y), (472, y))
    for x in (72, 272, 472):
        page.draw_line((x, 250), (x, 300))
    for x, y, cell in [
        (80, 267, "Measure"),
        (280, 267, "Target"),
        (80, 292, "Compliance audit"),
        (280, 292, "Monthly"),
    ]:
        page.insert_text((x, y), cell, fontsize=11)
    page.draw_rect(pymupdf.Rect(72, 330, 472, 380))
    page.insert_text((80, 360), "Remember: clean hands save lives in outpatient clinics.", fontsize=11)
    page = doc.new_page()
    page.insert_text((72, 80), "References", fontsize=16, fontname="hebo")
    page.insert_text((72, 110), "1. Smith J. Hand hygiene audit. J Example Infect. 2020;1:1-9.", fontsize=11)
    page.insert_text((72, 150), "Annex", fontsize=16, fontname="hebo")
    page.insert_text((72, 180), "The audit form used by the clinics is shown in this annex.", fontsize=11)
    doc.save(path)
    return path


def test_synthetic_pdf_contents_tables_and_sections(tmp_path):
    data = synthetic_pdf(tmp_path / "guide.pdf").read_bytes()
    dropped, kept = extract_pdf(data, tables="drop"), extract_pdf(data, tables="keep")
    assert "Contents" not in dropped.text and "....." not in dropped.text
    assert dropped.tables == kept.tables == 1
    assert "Compliance audit" not in dropped.text and "| Compliance audit | Monthly |" in kept.text.splitlines()
    for result in (dropped, kept):
        lines = result.text.splitlines()
        assert {"# Introduction", "# Recommendations", "# References", "# Annex"} <= set(lines)
        assert "Remember: clean hands save lives in outpatient clinics." in lines  # a framed box is no table
    out, removed = remove_sections(dropped.text, DEFAULT_REMOVED_SECTIONS)
    assert removed == ["references"] and "Smith J." not in out and "shown in this annex" in out


def _slow_or_real(data, max_pages, tables):
    if b"%%HANG" in data:
        time.sleep(60)
    if b"%%GREEDY" in data:
        hoard = [bytearray(64 << 20) for _ in range(1000)]  # 64 GB, far beyond the limit
        return hoard
    if b"%%CRASH" in data:
        os.abort()
    return extract_pdf(data, max_pages, tables)


def test_worker_bounds_time_memory_and_crashes(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_worker, "extract_pdf", _slow_or_real)
    good = write_sample_pdf(tmp_path / "a_good.pdf").read_bytes()
    for name, marker in (("b_hang", b"%%HANG"), ("c_greedy", b"%%GREEDY"), ("d_crash", b"%%CRASH")):
        (tmp_path / f"{name}.pdf").write_bytes(good + b"\n" + marker + b"\n")
    (tmp_path / "e_garbage.pdf").write_bytes(os.urandom(4096))
    (tmp_path / "f_good.pdf").write_bytes(good)
    started = time.monotonic()
    reader = GuidelineReader([str(tmp_path)], pdf_timeout_s=2, pdf_memory_mb=256)
    docs, rejects = read_all(reader)
    assert time.monotonic() - started < 20  # the hanging PDF was cut off at its time bound
    assert [reason for reason, _ in rejects] == [
        "pdf_timeout",
        "pdf_memory_limit",
        "pdf_worker_crashed",
        "unreadable_pdf",
    ]
    assert [d.metadata["url"] for d in docs] == ["a_good.pdf", "f_good.pdf"]  # the run went on
    assert docs[0].text == extract_pdf(good).text  # the worker returns what in-process extraction gives
    with pytest.raises(PdfError, match="pdf_timeout"):
        pdf_worker.run_bounded(time.sleep, (30,), timeout_s=0.3, memory_mb=0)
    assert pdf_worker.run_bounded(sum, ((1, 2, 3),), timeout_s=0, memory_mb=0) == 6  # no bounds: in-process


def test_reader_options_are_checked():
    with pytest.raises(ValueError, match="pdf_tables"):
        GuidelineReader([str(Path(__file__))], pdf_tables="sometimes")
    with pytest.raises(ValueError, match="licenses"):
        GuidelineReader([str(Path(__file__))], licenses=[])
