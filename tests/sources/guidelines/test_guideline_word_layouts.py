"""Contents and back matter in PDFs laid out as Word exports them, generated here and read through the reader."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from support.helpers import read_all

from medcorpus.sources.guidelines import GuidelineReader
from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS
from medcorpus.sources.guidelines.pdf.tables import contents_entries
from medcorpus.sources.guidelines.sections import heading_name

BODY = "Offer oral amoxicillin for five days to adults with pneumonia of low severity in the community."
ELLIPSIS = "Cough, fever... and chest pain lasted 5 days in most of the 120 adults we followed up."
ONE_LINE_TOC = "1 Introduction ........ 3 2 Methods ........ 5 3 Recommendations ..... 9"
WRAPPED_TOC = (
    "1 Introduction .................................... 3 2 Methods .................................... 5 "
    "3 Recommendations .................................... 9 4 Implementation .......................... 12 "
    "5 Bibliography/Evidence .................................... 14"
)
LEADER_ROWS = [  # a contents page without a heading, leaders in three styles
    "2.1 Diagnosis .......................... 4",
    "2.2 Severity assessment . . . . . . . . . . . . 6",
    "2.3 Antibiotic choice ……………………… 7",
    "2.4 Follow-up ........................ 11",
]


def _text(page: pymupdf.Page, y: float, lines: list[str], size: float = 11) -> float:
    """Write `lines` from `y` down in body type (a unicode font: leaders of "…"); the y below them."""
    writer = pymupdf.TextWriter(page.rect)
    for line in lines:
        writer.append((72, y), line, font=pymupdf.Font("helv"), fontsize=size)
        y += size * 1.5
    writer.write_text(page)
    return y + 12


def _heading(page: pymupdf.Page, y: float, text: str) -> float:
    page.insert_text((72, y), text, fontsize=15, fontname="hebo")
    return y + 28


def _body_pages(doc: pymupdf.Document) -> None:
    """Two pages of guideline body: evidence headings, a Bibliography/Evidence section, then an appendix."""
    page = doc.new_page()
    y = _heading(page, 80, "Evidence for treatment of pneumonia")
    y = _text(page, y, [BODY] * 4)
    y = _heading(page, y, "Quality of evidence")
    _text(page, y, ["Three trials of moderate quality compared five with ten days of treatment."] * 3)
    page = doc.new_page()
    y = _heading(page, 80, "Bibliography/Evidence")
    y = _text(page, y, ["1. Smith J. Short-course amoxicillin for pneumonia. J Example Med. 2020;1:1-9."])
    y = _heading(page, y, "Appendix A: Search strategy")
    _text(page, y, ["MEDLINE and Embase were searched from 2000 to 2023 for randomised trials."])


def word_toc_pdf(path: Path) -> Path:
    """A title page whose contents run on as one wrapped paragraph of leaders, a foreword page holding a
    list of tables on one row, then the body."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 90), "Community-acquired pneumonia in adults", fontsize=22, fontname="hebo")
    y = _heading(page, 140, "Table of Contents")
    page.insert_textbox(pymupdf.Rect(72, y - 10, 523, y + 120), WRAPPED_TOC, fontsize=11)
    page = doc.new_page()
    y = _heading(page, 80, "Foreword")
    y = _text(page, y, [BODY] * 8 + [ELLIPSIS])
    _text(page, y, ["Table 1 Doses ........ 6 Table 2 Durations ........ 8 Table 3 Audit ........ 12"])
    _body_pages(doc)
    doc.save(path)
    return path


def leader_toc_pdf(path: Path) -> Path:
    """A contents page with no "Contents" heading: four entries with dotted, spaced and ellipsis leaders."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 90), "Community-acquired pneumonia in adults", fontsize=22, fontname="hebo")
    _text(page, 140, LEADER_ROWS)
    _body_pages(doc)
    doc.save(path)
    return path


def read_pdf(path: Path) -> list[str]:
    docs, rejects = read_all(GuidelineReader([str(path)], min_chars=100))
    assert rejects == [] and len(docs) == 1
    return docs[0].text.splitlines()


def _assert_body_kept(lines: list[str]) -> None:
    """The body and its evidence headings stay; the Bibliography/Evidence section goes up to the appendix."""
    assert "# Evidence for treatment of pneumonia" in lines and "# Quality of evidence" in lines
    assert "# Appendix A: Search strategy" in lines and any(line.startswith("MEDLINE and Embase") for line in lines)
    assert not any("Bibliography" in line or "Smith J." in line for line in lines)


def test_word_toc_on_one_line_is_removed(tmp_path):
    lines = read_pdf(word_toc_pdf(tmp_path / "word.pdf"))
    text = "\n".join(lines)
    for gone in ("Table of Contents", "....", "Introduction", "Table 1 Doses", "Durations"):
        assert gone not in text, gone
    assert "# Foreword" in lines and BODY in text
    assert ELLIPSIS in text  # one "..." and numbers in prose: kept
    _assert_body_kept(lines)


def test_leader_toc_without_heading_is_removed(tmp_path):
    lines = read_pdf(leader_toc_pdf(tmp_path / "leaders.pdf"))
    text = "\n".join(lines)
    for gone in ("Diagnosis", "Severity assessment", "Antibiotic choice", "Follow-up", ". . .", "…"):
        assert gone not in text, gone
    _assert_body_kept(lines)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        (ONE_LINE_TOC, ["3", "5", "9"]),
        ("Annex 2 . . . . . . 41 Annex 3 ……… 44", ["41", "44"]),
        ("Foreword .......... iv", ["iv"]),
        ("2.3 Antibiotic choice ..........", [""]),  # its page number set apart, in another column
        ("Introduction 3", ["3"]),
        (ELLIPSIS, []),
        ("Doses were 5... 10 mg daily", []),
        ("Give 500 mg three times a day", []),
    ],
)
def test_contents_entries_of_a_row(text, numbers):
    assert contents_entries(text) == numbers


@pytest.mark.parametrize(
    ("heading", "name"),
    [
        ("Bibliography/Evidence", "bibliography"),
        ("Evidence & Bibliography", "bibliography"),
        ("References and further reading", "references"),
        ("REFERENCES / BIBLIOGRAPHY", "references"),
        ("8. Acknowledgements and funding", "acknowledgements"),
        ("Evidence for treatment of pneumonia", None),
        ("Quality of evidence", None),
        ("Evidence", None),
        ("Appendix A: Search strategy", None),
        ("Reference values and further testing", None),
    ],
)
def test_back_matter_headings_with_extra_words_and_slashes(heading, name):
    assert heading_name(heading, DEFAULT_REMOVED_SECTIONS) == name
