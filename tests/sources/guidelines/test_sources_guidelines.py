"""Guideline reader: real NGC pages and WHO/CDC PDFs, the bundled samples, and hostile files."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.documents import url_hash
from medcorpus.sample_inputs.guidelines.make_pdf import FOOTER, HEADER, SECTIONS, write_sample_pdf
from medcorpus.sources import reader_class
from medcorpus.sources.guidelines import GuidelineReader
from medcorpus.sources.guidelines.pdf.extract import join_lines

SAMPLE_HTML = SAMPLES / "guidelines" / "sample_guideline.html"
NGC = Path("guidelines/html/ngc_guideline_gov_2018/syntheses")
WHO = Path("guidelines/pdf/WHO_2016_IPC_core_components_guidelines.pdf")
CDC = Path("guidelines/pdf/CDC_2016_Guide_to_Infection_Prevention_Outpatient_Settings_v2.3.pdf")

# One passage of guideline content per page (most from the recommendation tables), found by reading the pages.
NGC_CONTENT = {
    "cardiology__51014.htm": "initiate pharmacologic treatment to lower BP at SBP of 150 mmHg",
    "endocrinology__48531.htm": "detection and diagnosis of GDM in pregnant women",
    "endocrinology__50302.htm": "diet, exercise, and behavioral modification be included in all",
    "endocrinology__50702.htm": "Should a person with diabetes be screened for foot ulcer risk?",
    "endocrinology__50983.htm": "interventions to enhance the healing of chronic ulcers of the foot",
    "gastroenterology__50562.htm": "Policy Makers Screening in Adults Aged 50 to 74",
    "gastroenterology__50577.htm": "antibiotics be routinely used in patients with acute uncomplicated",
    "neurology__48511.htm": "For patients with new-onset Bell palsy, oral steroids should be offered",
    "neurology__50671": "The CTFPHC recommends not screening asymptomatic adults 65 years",
    "obstetrics_and_gynecology__50662.htm": "with a current singleton pregnancy, prior spontaneous preterm birth",
    "obstetrics_and_gynecology__50782.htm": "recommends against performing screening pelvic examination",
    "oncology__48012.htm": "pharmacologic interventions for risk reduction of primary breast cancer",
    "oncology__49682.htm": "ACP recommends that clinicians inform men between the age of 50 and 69",
    "oncology__50093.htm": "average risk of breast cancer should undergo regular screening mammography",
    "oncology__50489.htm": "Clinicians should ascertain the smoking status and smoking history",
    "rheumatology__50210.htm": "Treatment of Osteoarthritis of the Knee",
    "sleep_medicine__51029.htm": "screening and diagnosis of obstructive sleep apnea (OSA) in adults",
    "urology__49438.htm": "fluid intake spread throughout the day to achieve at least 2 L of urine",
}
# Site menu, account box, banner, share/cite tools and footer of guideline.gov: on every raw page, never in the text.
NGC_CLUTTER = [
    "Skip to main content",
    "Log into My NGC",
    "Create New Account",
    "Matrix Tool",
    "Submit Guidelines",
    "Get Email Alerts",
    "For Web Developers",
    "Web Site Credits",
    "Privacy Policy",
    "5600 Fishers Lane",
    "will not be available after July 16, 2018",
    "Internet citation",
    "Expand All",
    "View Summary",
    "About NGC Guideline Syntheses",  # related-content box
    "Syntheses are systematic comparisons",
    "New on NGC",
    "RSS Feed",
    "Visit our partner sites",
    "Get Social",
    "Linkedin",  # share buttons
    "Guidelines Being Compared:",
]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_registered_under_its_cli_name():
    assert reader_class("guidelines") is GuidelineReader


@pytest.mark.parametrize("name", sorted(NGC_CONTENT))
def test_ngc_page_keeps_guideline_text_and_drops_site_chrome(shared_data, name):
    path = shared_data / NGC / name
    raw = flat(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    docs, rejects = read_all(GuidelineReader([str(path)], site="ngc", license="public-domain"))
    assert rejects == [] and len(docs) == 1
    doc = docs[0]
    text = flat(doc.text)
    assert flat(NGC_CONTENT[name]) in text
    assert "Areas of Agreement and Difference" in text and "This synthesis was prepared by" in text
    for clutter in NGC_CLUTTER:
        assert clutter in raw  # the page really has it ...
        assert clutter not in text, clutter  # ... and the extractor dropped it
    assert "getElementsByTagName" in raw and "getElementsByTagName" not in text  # scripts are gone
    assert not re.search(r"</?(?:div|span|a|script|li|td)\b", doc.text)
    assert doc.id == f"guideline:ngc:{url_hash(name)}"
    meta = doc.metadata
    assert (meta["source"], meta["category"], meta["license"], meta["format"]) == (
        "guidelines",
        "biomedical",
        "public-domain",
        "html",
    )
    assert meta["site"] == "ngc" and meta["url"] == name and meta["title"]
    lines = doc.text.splitlines()
    assert lines[0] == f"# {meta['title']}"  # the page title leads, then headings and paragraphs as lines
    assert "## Areas of Agreement and Difference" in lines and "## Status" in lines  # headings stay headings
    assert "## Comparison of Recommendations" in lines


def test_ngc_pages_in_one_run_are_distinct_and_deterministic(shared_data):
    paths = sorted(str(p) for p in (shared_data / NGC).iterdir())
    first, rejects = read_all(GuidelineReader(paths, site="ngc"))
    second, _ = read_all(GuidelineReader(paths, site="ngc"))
    assert rejects == [] and len(first) == 18
    assert len({d.id for d in first}) == 18
    assert [(d.id, d.text, d.metadata) for d in first] == [(d.id, d.text, d.metadata) for d in second]
    assert all(10_000 < len(d.text) < 60_000 for d in first)


@pytest.fixture(scope="module")
def real_pdfs(shared_data):
    """The WHO and CDC guidelines read once through the reader: {name: document}."""
    docs, rejects = read_all(GuidelineReader([str(shared_data / WHO), str(shared_data / CDC)], site="who-cdc"))
    assert rejects == []
    return {d.metadata["url"]: d for d in docs}


def test_real_pdfs_metadata_and_plausible_length(real_pdfs):
    who, cdc = real_pdfs[WHO.name], real_pdfs[CDC.name]
    assert (who.metadata["pages"], cdc.metadata["pages"]) == (91, 44)
    assert who.metadata["format"] == cdc.metadata["format"] == "pdf"
    assert who.id == f"guideline:who-cdc:{url_hash(WHO.name)}"
    assert cdc.metadata["title"].startswith("Guide to Infection Prevention")
    assert who.metadata["title"].startswith("Guidelines on Core Components of Infection Prevention")
    for doc in (who, cdc):  # 1,000 to 6,000 characters a page: text, without the layout's debris
        assert 1_000 < len(doc.text) / doc.metadata["pages"] < 6_000


def test_real_pdfs_lose_page_numbers_and_running_headers(shared_data, real_pdfs):
    who, cdc = real_pdfs[WHO.name].text, real_pdfs[CDC.name].text
    for doc in (who, cdc):
        assert not [line for line in doc.splitlines() if re.fullmatch(r"\d{1,3}|[ivx]{1,5}", line.strip())]
    running = "Guidelines on Core Components of Infection Prevention and Control Programmes at the National"
    raw_who = "".join(page.get_text() for page in pymupdf.open(shared_data / WHO))
    assert raw_who.count(running) > 80 and who.count(running) <= 1  # the footer of every page; the cover stays
    assert "EXECUTIVE SUMMARY" in raw_who and "EXECUTIVE SUMMARY" not in who  # a section's running header
    assert "Version 2.3 - September 2016" not in cdc


def test_real_pdfs_hyphenation_repaired_only_at_line_breaks(real_pdfs):
    who, cdc = flat(real_pdfs[WHO.name].text), flat(real_pdfs[CDC.name].text)
    # typeset breaks inside words ("pro-|grammes", "out-|lined") are joined ...
    assert "core components of effective IPC programmes aimed at reducing HAIs" in who
    assert "following the methods outlined in the 2014 WHO Handbook" in who
    assert "pro-grammes" not in who and "out-lined" not in who
    # ... while compounds broken at their own hyphen keep it ("health care-|associated", "task-|specific")
    assert "one or more active health care-associated infections" in who
    assert "careassociated" not in who and "care- associated" not in who
    assert "job- or task-specific needs" in cdc and "taskspecific" not in cdc


def test_real_pdf_reading_order_follows_columns(real_pdfs):
    who = real_pdfs[WHO.name].text
    order = [
        "4 Methods",
        "4.1 WHO guidelines development process",
        "4.2 WHO Guideline Steering Group",
        "supervised the evidence retrieval, syntheses and analysis",  # left column runs on into the right one
        "4.3 Guidelines Development Group",
    ]
    positions = [who.find(marker) for marker in order]
    assert -1 not in positions and positions == sorted(positions)


def test_sample_html_page(tmp_path):
    docs, rejects = read_all(GuidelineReader([str(SAMPLE_HTML)]))
    assert rejects == [] and len(docs) == 1
    doc = docs[0]
    canonical = "https://www.northbridge-respiratory.example/guidelines/community-acquired-pneumonia-adults"
    assert doc.id == f"guideline:local:{url_hash(canonical)}"
    assert doc.metadata["url"] == canonical
    assert doc.metadata["title"] == "Management of Community-Acquired Pneumonia in Adults"
    lines = doc.text.splitlines()
    assert lines[0] == "# Management of Community-Acquired Pneumonia in Adults"
    assert {"## Assessment of severity", "## Recommendations", "## Monitoring and follow-up"} <= set(lines)  # headings
    item = "oral amoxicillin. Offer doxycycline or clarithromycin to patients with a penicillin allergy."
    assert any(line.startswith("2. For low-severity pneumonia") and line.endswith(item) for line in lines)  # one line
    assert "| 0 or 1 | Low (below 3 percent) | Usually home treatment |" in lines  # a table row as text
    assert "| Table 1. Severity score and suggested place of care |" in lines  # no trailing empty cells
    assert 750 <= len(doc.text.split()) <= 1300
    for clutter in (
        "Accept all cookies",
        "Member login",
        "Skip to main content",
        "Respiratory Infection",
        "Latent tuberculosis screening",
        "Related guidelines",
        "Winter Respiratory Meeting",
        "Share this page",
        "Privacy notice",
        "Registered charity",
        "dataLayer",
        "consentGiven",
    ):
        assert clutter not in doc.text, clutter


def test_sample_pdf_is_extracted_word_for_word(tmp_path):
    path = write_sample_pdf(tmp_path / "hand_hygiene.pdf")
    raw = "".join(page.get_text() for page in pymupdf.open(path))
    breaks = re.findall(r"([a-z]+)-\n([a-z]+)", raw)
    assert len(breaks) >= 3  # the sample really has words hyphenated at line ends
    assert raw.count(HEADER) >= 3 and "Page 3 of" in raw
    docs, rejects = read_all(GuidelineReader([str(tmp_path)], site="sample", license="CC0-1.0"))
    assert rejects == [] and len(docs) == 1
    doc = docs[0]
    assert doc.metadata["pages"] >= 3 and doc.metadata["format"] == "pdf"
    assert doc.metadata["title"] == "Hand Hygiene in Outpatient Clinics"
    words = [w for _, text in SECTIONS for w in text.split()]
    assert [w for w in doc.text.replace("· ", "").split() if w.strip("#")] == words  # every word, in order
    headings = [line[3:] for line in doc.text.splitlines() if line.startswith("#")]
    assert headings == [text for kind, text in SECTIONS if kind == "h"]  # larger bold headings become "## " lines
    for head, tail in breaks:
        assert f"{head}-{tail}" not in doc.text
    assert HEADER not in doc.text and FOOTER.split("|")[0].strip() not in doc.text and "Page 1 of" not in doc.text
    assert "\n· before touching a patient" in doc.text  # bullet points stay separate lines


def test_join_lines_decides_with_the_document_vocabulary():
    vocab = ({"programmes", "health", "care", "associated", "in", "service"}, {"care-associated"})
    assert join_lines("effective IPC pro-", "grammes aimed", vocab) == "effective IPC programmes aimed"
    assert join_lines("health care-", "associated infection", vocab) == "health care-associated infection"
    assert join_lines("for in-", "service training", vocab) == "for in-service training"  # both halves are words
    assert join_lines("a decontamin-", "ated room", vocab) == "a decontaminated room"  # neither half is a word
    assert join_lines("COVID-", "19 cases", vocab) == "COVID-19 cases"
    assert join_lines("Healthcare-", "Associated Infections", vocab) == "Healthcare-Associated Infections"
    assert join_lines("pages 142-", "146", vocab) == "pages 142-146"
    assert join_lines("Strong recommendation –", "grade A", vocab) == "Strong recommendation – grade A"
    assert join_lines("see http://www.cdc.", "gov/hai", vocab) == "see http://www.cdc.gov/hai"
    assert join_lines("soft hyphen infec\xad", "tion", vocab) == "soft hyphen infection"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "unreadable_pdf"),
        (bytes(range(256)) * 40, "unreadable_pdf"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> garbage without xref", "unreadable_pdf"),
    ],
)
def test_broken_pdf_is_rejected_not_raised(tmp_path, content, reason):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    docs, rejects = read_all(GuidelineReader([str(path)]))
    assert docs == []
    assert rejects == [(reason, f"guideline:local:{url_hash('broken.pdf')}")]


def test_pdf_limits_and_locks(tmp_path):
    sample = write_sample_pdf(tmp_path / "ok" / "sample.pdf")
    docs, rejects = read_all(GuidelineReader([str(sample)], max_pdf_pages=2))
    assert docs == [] and [r for r, _ in rejects] == ["too_many_pages"]
    locked = tmp_path / "locked.pdf"
    with pymupdf.open(sample) as doc:
        doc.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    docs, rejects = read_all(GuidelineReader([str(locked)]))
    assert docs == [] and [r for r, _ in rejects] == ["encrypted_pdf"]
    image_only = tmp_path / "scan.pdf"
    with pymupdf.open() as doc:
        doc.new_page().draw_rect(pymupdf.Rect(50, 50, 300, 300), fill=(0.2, 0.2, 0.2))
        doc.save(image_only)
    docs, rejects = read_all(GuidelineReader([str(image_only)]))
    assert docs == [] and [r for r, _ in rejects] == ["empty_text"]


def test_html_without_content_is_rejected(tmp_path):
    nav_only = tmp_path / "nav_only.html"
    nav_only.write_text(
        "<html><head><title>Guidelines | Example Health</title><script>var a = 1;</script></head><body>"
        "<header><nav><ul><li><a href='/'>Home</a></li><li><a href='/about'>About us</a></li>"
        "<li><a href='/guidelines'>Guidelines</a></li><li><a href='/contact'>Contact</a></li></ul></nav></header>"
        "<div class='cookie'>We use cookies. <button>Accept</button></div>"
        "<footer><a href='/privacy'>Privacy</a> | <a href='/terms'>Terms</a> | © 2024 Example Health</footer>"
        "</body></html>",
        encoding="utf-8",
    )
    short = tmp_path / "short.htm"
    short.write_text("<html><body><main><p>Wash your hands before every patient contact.</p></main></body></html>")
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.html"
    garbage.write_bytes(bytes(range(256)) * 20)
    docs, rejects = read_all(GuidelineReader([str(tmp_path)]))
    assert docs == []
    reasons = dict((doc_id, reason) for reason, doc_id in rejects)
    assert len(reasons) == 4 and set(reasons.values()) <= {"empty_text", "too_short"}
    assert reasons[f"guideline:local:{url_hash('short.htm')}"] == "too_short"
    assert reasons[f"guideline:local:{url_hash('empty.html')}"] == "empty_text"


def test_min_chars_and_limit(tmp_path):
    docs, rejects = read_all(GuidelineReader([str(SAMPLE_HTML)], min_chars=100_000))
    assert docs == [] and [r for r, _ in rejects] == ["too_short"]
    write_sample_pdf(tmp_path / "a.pdf")
    (tmp_path / "b.html").write_bytes(SAMPLE_HTML.read_bytes())
    assert len(list(GuidelineReader([str(tmp_path)]).run())) == 2
    assert len(list(GuidelineReader([str(tmp_path)], limit=1).run())) == 1


def test_page_address_and_format_come_from_the_content(tmp_path):
    paragraphs = "".join(f"<p>Step {n}: give fluids by mouth when the patient can drink safely.</p>" for n in range(12))
    body = f"<main><h1>Fluid therapy</h1>{paragraphs}</main>"
    og = tmp_path / "og.html"
    og.write_text(f'<html><head><meta property="og:url" content="https://x.example/fluids"></head>{body}</html>')
    relative = tmp_path / "relative.html"
    relative.write_text(f'<html><head><link rel="canonical" href="/fluids"></head>{body}</html>')
    disguised = tmp_path / "disguised.htm"  # a PDF saved under a web page's name
    disguised.write_bytes(write_sample_pdf(tmp_path / "pdf" / "real.pdf").read_bytes())
    docs, rejects = read_all(GuidelineReader([str(og), str(relative), str(disguised)], site="x"))
    assert rejects == []
    by_url = {d.metadata["url"]: d for d in docs}
    assert set(by_url) == {"https://x.example/fluids", "relative.html", "disguised.htm"}
    assert by_url["https://x.example/fluids"].id == f"guideline:x:{url_hash('https://x.example/fluids')}"
    assert by_url["disguised.htm"].metadata["format"] == "pdf" and by_url["relative.html"].metadata["format"] == "html"
