"""Guideline reader on crawler raw stores: publisher metadata, filters, section options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.documents import url_hash
from medcorpus.sample_inputs.guidelines.make_pdf import write_sample_pdf
from medcorpus.sources.guidelines import GuidelineReader
from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS

SAMPLE_HTML = SAMPLES / "guidelines" / "sample_guideline.html"

STORE_PAGE = b"""<html><head><title>Acute otitis media in children | Example Paediatric Society</title>
<link rel="canonical" href="https://paeds.example/guidance/otitis-media"></head><body>
<div class="cookie-banner">We use cookies to improve this website. <button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/guidance">Clinical guidance</a></li>
<li><a href="/members">Member login</a></li></ul></nav></header>
<nav class="breadcrumb"><a href="/">Home</a> / <a href="/guidance">Clinical guidance</a> / Otitis media</nav>
<main><article><h1>Acute otitis media in children</h1>
<p>Acute otitis media is one of the commonest reasons for a young child to see a doctor, and most episodes
settle within three days without antibiotics. This statement helps clinicians decide which children need
treatment and how parents can relieve pain while the infection resolves.</p>
<h2>Recommendations</h2>
<ol><li>Offer regular paracetamol or ibuprofen for ear pain (strong recommendation, high-quality evidence).</li>
<li>Consider a delayed antibiotic prescription for children older than two years with mild symptoms
(conditional recommendation, moderate-quality evidence).</li></ol>
<h3>Children who need immediate antibiotics</h3>
<ul><li>children younger than six months with a fever;</li><li>children with discharge from the ear.</li></ul>
<h2>References</h2>
<ol><li>Okafor L, Brennan T. Watchful waiting in ear infection. Paediatr Example. 2019;12:34-40.</li></ol>
<h2>Funding</h2><p>This statement was funded by the society without support from industry.</p>
<h2>Conflicts of Interest Statement</h2><p>One author received speaker fees from a vaccine maker.</p>
<h2>Implementation</h2><p>Practices should give parents a written leaflet about pain relief and about the signs
that should prompt a second consultation, such as a high fever or swelling behind the ear.</p>
</article>
<div class="share-buttons">Share this page: <a href="#">Facebook</a> <a href="#">Email a colleague</a></div>
<aside class="related"><h3>Related guidance</h3><ul><li><a href="/g/bronchiolitis">Bronchiolitis in infants</a></li>
</ul></aside></main>
<footer><p>Example Paediatric Society, registered charity 000000.</p><a href="/privacy">Privacy notice</a></footer>
</body></html>"""


def write_store(folder: Path, responses: list[dict], info: dict) -> Path:
    """A raw store written by hand after the contract: content-addressed bodies, index.jsonl, crawl.json."""
    lines = []
    for number, response in enumerate(responses):
        body = response.pop("content", b"")
        digest = hashlib.sha256(body).hexdigest()
        relative = f"bodies/{digest[:2]}/{digest}"
        if not response.pop("missing", False):
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(body)
        entry = {"final_url": response["url"], "fetched_at": f"2025-01-0{number + 1}T10:00:00Z", "status": 200}
        entry |= {"content_type": "text/html; charset=utf-8", "sha256": digest, "size": len(body), "etag": None}
        entry |= {"last_modified": None, "body": relative, "site": info["site"], "role": "document"} | response
        lines.append(json.dumps(entry, sort_keys=True) + "\n")
    (folder / "index.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "crawl.json").write_text(json.dumps(info, indent=1, sort_keys=True), encoding="utf-8")
    return folder


@pytest.fixture
def raw_store(tmp_path):
    site = "https://paeds.example"
    pdf = write_sample_pdf(tmp_path / "pdf" / "sample.pdf").read_bytes()
    responses = [
        {"url": f"{site}/robots.txt", "role": "robots", "content_type": "text/plain", "content": b"User-agent: *"},
        {"url": f"{site}/guidance?page=1", "role": "listing", "content": b"<html><a href='/g/aom'>AOM</a></html>"},
        {"url": f"{site}/g/aom", "content": b"<html><body><p>An older version.</p></body></html>"},
        {"url": f"{site}/g/hands.pdf", "content_type": "application/pdf", "content": pdf},
        {"url": f"{site}/g/gone", "status": 404, "content": b"Not found"},
        {"url": f"{site}/g/lost", "missing": True, "content": b"<html>never written</html>"},
        {"url": f"{site}/g/chart.png", "content_type": "image/png", "content": b"\x89PNG\r\n\x1a\n"},
        {"url": f"{site}/g/aom", "status": 304, "final_url": f"{site}/guidance/aom", "content": STORE_PAGE},
    ]
    metadata = {"site": "eps", "publisher": "Example Paediatric Society", "audience": "clinicians"}
    metadata |= {"license": "CC-BY-4.0", "redistributable": True}
    info = {"site": "eps", "base_url": site + "/", "metadata": metadata, "extractor": "auto"}
    info["removed_sections"] = list(DEFAULT_REMOVED_SECTIONS)
    return write_store(tmp_path / "raw", responses, info)


def test_raw_store_documents_with_publisher_metadata(raw_store):
    docs, rejects = read_all(GuidelineReader([str(raw_store)]))
    site = "https://paeds.example"
    assert sorted(rejects) == sorted(
        [
            ("http_status:404", f"guideline:eps:{url_hash(site + '/g/gone')}"),
            ("raw_body_unreadable", f"guideline:eps:{url_hash(site + '/g/lost')}"),
            ("unsupported_content_type", f"guideline:eps:{url_hash(site + '/g/chart.png')}"),
        ]
    )
    assert [d.id for d in docs] == [
        f"guideline:eps:{url_hash(site + '/g/aom')}",
        f"guideline:eps:{url_hash(site + '/g/hands.pdf')}",
    ]
    page, pdf = docs
    meta = page.metadata
    assert meta == {
        "source": "guidelines",
        "category": "biomedical",
        "license": "CC-BY-4.0",
        "site": "eps",
        "publisher": "Example Paediatric Society",
        "audience": "clinicians",
        "redistributable": True,
        "url": f"{site}/g/aom",
        "fetched_at": "2025-01-08T10:00:00Z",  # the latest fetch of the URL wins
        "raw_sha256": hashlib.sha256(STORE_PAGE).hexdigest(),
        "final_url": f"{site}/guidance/aom",
        "content_type": "text/html; charset=utf-8",
        "title": "Acute otitis media in children",
        "format": "html",
        "canonical_url": "https://paeds.example/guidance/otitis-media",
        "sections_removed": 3,
    }
    lines = page.text.splitlines()
    assert lines[0] == "# Acute otitis media in children" and "## Recommendations" in lines
    assert (
        "1. Offer regular paracetamol or ibuprofen for ear pain (strong recommendation, high-quality evidence)."
        in lines
    )
    assert "- children younger than six months with a fever;" in lines and "## Implementation" in lines
    removed = ["Okafor L", "funded by the society", "speaker fees"]  # references, funding, conflicts of interest
    clutter = [
        "Accept all cookies",
        "Member login",
        "Otitis media",
        "Share this page",
        "Bronchiolitis",
        "Privacy notice",
    ]
    for gone in [*removed, *clutter, "registered charity", "older version"]:
        assert gone not in page.text, gone
    assert pdf.metadata["format"] == "pdf" and pdf.metadata["content_type"] == "application/pdf"
    assert pdf.metadata["publisher"] == "Example Paediatric Society" and pdf.metadata["pages"] >= 3


def test_raw_store_filters_and_section_options(raw_store, tmp_path):
    by_index = [d.id for d in read_all(GuidelineReader([str(raw_store / "index.jsonl")]))[0]]
    by_parent = [d.id for d in read_all(GuidelineReader([str(tmp_path)]))[0]]  # the store and a local PDF beside it
    assert by_parent == [f"guideline:local:{url_hash('sample.pdf')}", *by_index]
    docs, rejects = read_all(GuidelineReader([str(raw_store)], licenses=["CC-BY"], redistributable_only=True))
    assert len(docs) == 2
    docs, rejects = read_all(GuidelineReader([str(raw_store)], licenses="CC0,CC-BY-NC"))
    assert docs == [] and {r for r, _ in rejects} >= {"license:CC-BY-4.0"}
    info = json.loads((raw_store / "crawl.json").read_text())
    info["metadata"]["redistributable"] = False
    info["removed_sections"] = ["funding"]  # the adapter's own list
    (raw_store / "crawl.json").write_text(json.dumps(info))
    docs, rejects = read_all(GuidelineReader([str(raw_store)], redistributable_only=True))
    assert docs == [] and [r for r, _ in rejects].count("not_redistributable") == 4
    page = read_all(GuidelineReader([str(raw_store)]))[0][0]
    assert (
        "Okafor L" in page.text and "funded by the society" not in page.text and page.metadata["sections_removed"] == 1
    )
    page = read_all(GuidelineReader([str(raw_store)], removed_sections=[]))[0][0]
    assert "funded by the society" in page.text and page.metadata["sections_removed"] == 0
    local, rejects = read_all(GuidelineReader([str(SAMPLE_HTML)], redistributable_only=True))
    assert local == [] and [r for r, _ in rejects] == ["not_redistributable"]  # a local file's publisher is unknown
