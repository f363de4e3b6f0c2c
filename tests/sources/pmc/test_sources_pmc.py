"""PMC reader: JATS / NLM articles, OA tar.gz packages, licenses, hostile archives and documents."""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
from pathlib import Path

import pytest
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.sources import reader_class
from medcorpus.sources.pmc.license import license_allowed, license_family
from medcorpus.sources.pmc.reader import PMCReader, normalize_license
from medcorpus.sources.pubmed.reader import PubMedReader

PMC_SAMPLES = SAMPLES / "pmc"
SENTENCE = "The cohort was followed for five years and every admission was reviewed by two clinicians. "
PARAGRAPH = f"<p>{SENTENCE * 8}</p>"


def article(
    pmc: str | None = "PMC42",
    body: str | None = None,
    doctype: str = "",
    extra_meta: str = "",
    article_type: str = "research-article",
    back: str = "",
) -> str:
    """A small JATS article; `body=None` gives a long one-section body, "" no body at all."""
    ids = f'<article-id pub-id-type="pmc">{pmc}</article-id>' if pmc else ""
    if body is None:
        body = f"<sec><title>Results</title>{PARAGRAPH}</sec>"
    body_xml = f"<body>{body}</body>" if body != "" else ""
    return (
        f'<?xml version="1.0"?>\n{doctype}<article article-type="{article_type}"><front><article-meta>{ids}'
        f"<title-group><article-title>A test article</article-title></title-group>{extra_meta}</article-meta>"
        f"</front>{body_xml}{back}</article>"
    )


def add_member(archive: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def sample_docs():
    docs, rejects = read_all(PMCReader([str(PMC_SAMPLES)]))
    assert rejects == []
    return {d.id: d for d in docs}


def test_sample_articles_metadata():
    docs = sample_docs()
    assert sorted(docs) == ["pmc:PMC99100001", "pmc:PMC99100002", "pmc:PMC99100003"]
    expected = {
        "pmc:PMC99100001": ("CC-BY-4.0", "99200001", 2021, "research-article", "Journal of Perinatal Clinical"),
        "pmc:PMC99100002": ("CC0-1.0", "99200013", 2016, "research-article", "Paediatric Epidemiology Reports"),
        "pmc:PMC99100003": ("CC-BY-NC-4.0", "99200014", 2023, "review-article", "Geriatric Pharmacotherapy"),
    }
    for doc_id, (spdx, pmid, year, article_type, journal) in expected.items():
        meta = docs[doc_id].metadata
        assert (meta["license"], meta["pmid"], meta["year"], meta["article_type"]) == (spdx, pmid, year, article_type)
        assert meta["journal"].startswith(journal)
        assert meta["source"] == "pmc" and meta["category"] == "biomedical"
        assert meta["pmcid"] == doc_id.split(":")[1] and meta["pmcid_source"] == "xml"
        assert meta["doi"].startswith("10.5555/")
        assert 700 <= len(docs[doc_id].text.split()) <= 1600
    assert docs["pmc:PMC99100001"].metadata["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert docs["pmc:PMC99100003"].metadata["copyright"] == "© 2023 The Authors."


def test_sample_text_layout():
    text = sample_docs()["pmc:PMC99100001"].text
    assert text.startswith(
        "Home blood pressure telemonitoring after hypertensive disorders of pregnancy: a pragmatic randomised trial"
        "\n\nBackground\nBlood pressure often rises again"
    )
    assert "\n\nIntroduction\nHypertensive disorders complicate roughly one pregnancy in ten" in text
    assert "leading cause of maternal illness worldwide. Although delivery" in text  # its [1] marker went
    assert "\n\nMethods\nStudy design and setting\nWe conducted an open-label" in text
    assert "\n\nStatistical analysis\nAssuming a standard deviation" in text
    assert "and a p value below 0.05" in text
    # captions stay, table cells, graphics, references and acknowledgements go
    assert "\n\nTable 1. Characteristics of participants at randomisation.\n\n" in text
    assert "Figure 1. Time to stopping antihypertensive treatment. Kaplan–Meier curves show" in text
    assert "138.7 (11.9)" not in text and "SD, standard deviation" not in text
    assert "g001.tif" not in text and "Sample Obstet Rev" not in text and "We thank the women" not in text
    assert text.index("Table 1.") < text.index("At six weeks, mean diastolic") < text.index("Figure 1. Time")


def test_sample_nlm23_lists_and_back_floats():
    text = sample_docs()["pmc:PMC99100002"].text
    assert "we recorded the following:\n\n- the onset week, when weekly" in text
    assert "\n- the peak week, with the highest number of admissions;\n- the offset week" in text
    assert "Table 1. Admissions and severe disease by age group over ten seasons" in text
    assert "1167" not in text
    # the figure lives in the back matter (display-objects section): its caption follows the body
    assert text.endswith("Figure 1. Weekly bronchiolitis admissions by season. Each line shows one of the ten "
                         "seasons from July to June; the shaded band marks the range of onset weeks.")  # fmt: skip
    assert "We are grateful to the clinical coding team" not in text


def test_sample_jats13_box_inline_markup_and_abstract_choice():
    text = sample_docs()["pmc:PMC99100003"].text
    assert "\n\n1 Introduction\nProton pump inhibitors (PPIs) suppress" in text
    assert "blocking the H+/K+-ATPase of parietal cells" in text
    assert "vitamin B12 deficiency" in text and "histamine H2-receptor antagonist" in text
    assert "for eradicating Helicobacter pylori as part" in text
    assert "\n\nBox 1 Questions to ask at a medication review\n1. What was the original reason" in text
    assert "\n4. How does the person feel about reducing the dose or stopping?" in text
    assert "Many older adults could safely reduce" not in text  # the TOC abstract is not the abstract
    assert "The authors declare no conflicts" not in text


def test_pubmed_and_pmc_samples_describe_the_same_article():
    pmc = sample_docs()["pmc:PMC99100001"]
    pubmed = {d.id: d for d in read_all(PubMedReader([str(SAMPLES / "pubmed")]))[0]}["pubmed:99200001"]
    assert pubmed.metadata["pmcid"] == pmc.metadata["pmcid"]
    assert pubmed.metadata["pmid"] == pmc.metadata["pmid"]
    assert pubmed.metadata["title"] == pmc.metadata["title"] + "."
    pubmed_sections = [part.split("\n", 1)[1] for part in pubmed.text.split("\n\n")[1:]]
    pmc_sections = [part.split("\n", 1)[1] for part in pmc.text.split("\n\n")[1:5]]
    assert pubmed_sections == pmc_sections


def test_keep_captions_false():
    docs, _ = read_all(PMCReader([str(PMC_SAMPLES)], keep_captions=False))
    assert len(docs) == 3
    for doc in docs:
        assert not re.search(r"^(Table|Figure) \d+\. ", doc.text, re.M)
        assert "Characteristics of participants at randomisation" not in doc.text


@pytest.mark.parametrize(
    ("urls", "texts", "license_type", "expected"),
    [
        (["https://creativecommons.org/licenses/by/4.0/"], [], "", "CC-BY-4.0"),
        (["http://creativecommons.org/licenses/by-nc-nd/4.0/legalcode"], [], "", "CC-BY-NC-ND-4.0"),
        (["https://creativecommons.org/licenses/by-nc-sa/3.0/igo/"], [], "", "CC-BY-NC-SA-3.0-IGO"),
        (["https://creativecommons.org/publicdomain/zero/1.0/"], [], "", "CC0-1.0"),
        ([], ["Distributed under the Creative Commons Attribution 4.0 International License."], "", "CC-BY-4.0"),
        ([], ["under a Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 licence"], "", "CC-BY-NC-ND-4.0"),
        ([], ["This article is licensed CC BY-NC 4.0."], "", "CC-BY-NC-4.0"),
        ([], ["Creative Commons Attribution License, which permits unrestricted use"], "", "CC-BY"),
        ([], ["Available under a CC0 public domain dedication."], "", "CC0-1.0"),
        ([], ["Publication lies in the public domain."], "public-domain", "public-domain"),
        ([], ["© 2010 Cancer Research UK"], "", "unknown"),
        ([], [], "open-access", "unknown"),
    ],
)
def test_normalize_license(urls, texts, license_type, expected):
    assert normalize_license(urls, texts, license_type) == expected


def test_tar_package_is_streamed_safely(tmp_path, monkeypatch):
    package = tmp_path / "oa_package.tar.gz"
    with tarfile.open(package, "w:gz") as archive:
        add_member(archive, "PMC99100001", kind=tarfile.DIRTYPE)
        add_member(archive, "PMC99100001/PMC99100001.nxml", (PMC_SAMPLES / "PMC99100001.nxml").read_bytes())
        add_member(archive, "../evil.nxml", (PMC_SAMPLES / "PMC99100002.nxml").read_bytes())
        add_member(archive, "/tmp/absolute_evil.nxml", (PMC_SAMPLES / "PMC99100002.nxml").read_bytes())
        add_member(archive, "PMC99100001/link.nxml", kind=tarfile.SYMTYPE, target="/etc/passwd")
        add_member(archive, "PMC99100001/hard.nxml", kind=tarfile.LNKTYPE, target="PMC99100001/PMC99100001.nxml")
        add_member(archive, "PMC99100001/figure1.jpg", b"\xff\xd8\xff\xe0 not xml at all")
        add_member(archive, "PMC99100003/PMC99100003.xml", (PMC_SAMPLES / "PMC99100003.nxml").read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = sorted(p for p in tmp_path.parent.rglob("*"))
    docs, rejects = read_all(PMCReader([str(package)]))
    assert sorted(p for p in tmp_path.parent.rglob("*")) == before  # nothing was written anywhere
    assert not Path("/tmp/absolute_evil.nxml").exists()
    assert [d.id for d in docs] == ["pmc:PMC99100001", "pmc:PMC99100003"]
    assert docs[0].metadata["file"] == "PMC99100001/PMC99100001.nxml"
    assert sorted(reason for reason, _ in rejects) == [
        "unsafe_member:not_a_regular_file",
        "unsafe_member:not_a_regular_file",
        "unsafe_member:path_outside_archive",
        "unsafe_member:path_outside_archive",
    ]


def test_tar_member_too_large_and_bad_members(tmp_path):
    package = tmp_path / "pack.tgz"
    with tarfile.open(package, "w:gz") as archive:
        add_member(archive, "a/big.nxml", b"<article>" + b" " * 5000 + b"</article>")
        add_member(archive, "a/broken.nxml", b"<article><front>")
        add_member(archive, "a/PMC7.nxml", article(pmc=None).encode())
    docs, rejects = read_all(PMCReader([str(package)], max_member_bytes=4000))
    assert [d.id for d in docs] == ["pmc:PMC7"]  # PMCID from the member name
    assert docs[0].metadata["pmcid_source"] == "filename"
    assert [reason for reason, _ in rejects] == ["member_too_large", "malformed_xml"]


def test_truncated_tar_keeps_documents_read_before(tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for n in range(1, 4):
            add_member(archive, f"PMC{n}/PMC{n}.nxml", (PMC_SAMPLES / f"PMC9910000{n}.nxml").read_bytes())
    data = gzip.compress(raw.getvalue())
    package = tmp_path / "cut.tar.gz"
    package.write_bytes(data[: int(len(data) * 0.8)])
    docs, rejects = read_all(PMCReader([str(package)]))
    assert [d.id for d in docs] in (["pmc:PMC99100001"], ["pmc:PMC99100001", "pmc:PMC99100002"])
    assert [reason for reason, _ in rejects] == ["unreadable_archive"]


def test_external_entity_and_entity_bomb(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doctype = f'<!DOCTYPE article [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY pw SYSTEM "file:///etc/passwd">]>\n'
    body = f"<sec><title>Results</title>{PARAGRAPH}<p>Leak: &xxe; and &pw; here.</p></sec>"
    (tmp_path / "PMC1.nxml").write_text(article("PMC1", body=body, doctype=doctype))
    levels = ['<!ENTITY b0 "hahahahahahahahahaha">'] + [f'<!ENTITY b{i} "{f"&b{i - 1};" * 10}">' for i in range(1, 10)]
    bomb = "<!DOCTYPE article [" + "".join(levels) + "]>\n"
    (tmp_path / "PMC2.nxml").write_text(article("PMC2", body=f"<sec>{PARAGRAPH}<p>&b9;</p></sec>", doctype=bomb))
    docs, rejects = read_all(PMCReader([str(tmp_path)]))
    by_id = {d.id: d for d in docs}
    assert "Leak: and here." in by_id["pmc:PMC1"].text
    assert "TOP-SECRET" not in by_id["pmc:PMC1"].text and "root:" not in by_id["pmc:PMC1"].text
    assert sum(len(d.text) for d in docs) < 10_000
    assert "pmc:PMC2" in by_id or rejects == [("malformed_xml", None)]


def test_rejects_no_pmcid_no_body_short_body_and_malformed(tmp_path):
    (tmp_path / "article.nxml").write_text(article(pmc=None))
    (tmp_path / "PMC2.nxml").write_text(article("PMC2", body=""))
    (tmp_path / "PMC3.nxml").write_text(article("PMC3", body="<sec><title>Intro</title><p>Too short.</p></sec>"))
    (tmp_path / "PMC4.nxml").write_text(article("PMC4")[:-30])
    (tmp_path / "PMC5.nxml").write_text(article("5"))
    docs, rejects = read_all(PMCReader([str(tmp_path)]))
    assert [d.id for d in docs] == ["pmc:PMC5"]
    assert sorted(rejects, key=str) == sorted(
        [("no_pmcid", None), ("no_body", "pmc:PMC2"), ("body_too_short", "pmc:PMC3"), ("malformed_xml", None)], key=str
    )
    docs, _ = read_all(PMCReader([str(tmp_path / "PMC3.nxml")], min_body_chars=0))
    assert docs[0].text == "A test article\n\nIntro\nToo short."


def test_articleset_and_legacy_names(tmp_path):
    one, two = (article(pmc).split("\n", 1)[1] for pmc in ("PMC11", "PMC12"))
    (tmp_path / "set.xml").write_text(f"<pmc-articleset>{one}{two}</pmc-articleset>")
    (tmp_path / "BMC_Med-2-_-394351.nxml").write_text(article(pmc=None))
    docs, rejects = read_all(PMCReader([str(tmp_path)]))
    assert rejects == []
    assert [d.id for d in docs] == ["pmc:PMC394351", "pmc:PMC11", "pmc:PMC12"]
    assert docs[0].metadata["pmcid_source"] == "filename"


def test_deterministic_and_registered():
    first = [(d.id, d.text, d.metadata) for d in read_all(PMCReader([str(PMC_SAMPLES)]))[0]]
    second = [(d.id, d.text, d.metadata) for d in read_all(PMCReader([str(PMC_SAMPLES)]))[0]]
    assert first == second
    assert reader_class("pmc") is PMCReader
    assert all(os.sep not in meta["file"] for _, _, meta in first)


def read_one(tmp_path: Path, xml: str, **options):
    (tmp_path / "PMC42.nxml").write_text(xml)
    return read_all(PMCReader([str(tmp_path / "PMC42.nxml")], **options))


DROPPED_SECTIONS = (
    '<sec sec-type="COI-statement"><title>Statement</title><p>DROP-coi-type nothing to declare.</p></sec>'
    "<sec><title>Competing interests</title><p>DROP-coi-title The authors declare none.</p></sec>"
    "<sec><title>Funding and Conflicts of Interest</title><p>DROP-funding-coi Supported by a grant.</p></sec>"
    "<sec><title>Authors' contributions</title><p>DROP-contrib AB wrote the paper.</p></sec>"
    "<sec><title>2. Acknowledgments:</title><p>DROP-ack-title We thank the nurses.</p></sec>"
    "<sec><title>Declaration of interests</title><p>DROP-declaration None.</p></sec>"
    '<sec sec-type="supplementary-material"><title>Data</title><p>DROP-supp Additional file 1.</p></sec>'
    "<sec><title>Supporting Information</title><p>DROP-supp-title Figure S1.</p></sec>"
    '<notes notes-type="funding-information"><p>DROP-notes Funded by a trust.</p></notes>'
    '<boxed-text content-type="author-notes"><p>DROP-box Correspondence to the first author.</p></boxed-text>'
    "<contrib-group><contrib><name><surname>DROP-author</surname></name></contrib></contrib-group>"
    "<aff>DROP-aff Department of Medicine</aff><ack><p>DROP-ack We thank all.</p></ack>"
    "<sec><title>Funding of health services</title><p>KEEP-funding-topic Budgets grew.</p></sec>"
    "<sec><title>Conflicts between guidelines</title><p>KEEP-conflict-topic Advice differed.</p></sec>"
    "<sec><title>Contributions</title><p>KEEP-contributions This study adds a cohort.</p></sec>"
    '<sec sec-type="funding"><title>Support</title><p>DROP-funding-type A grant.</p></sec>'
)


def test_non_article_sections_and_author_blocks_dropped(tmp_path):
    body = f"<sec><title>Results</title>{PARAGRAPH}</sec>{DROPPED_SECTIONS}"
    back = (
        '<back><sec sec-type="supplementary-material"><fig id="S1"><label>Figure S1</label><caption><p>DROP-suppfig'
        '</p></caption></fig></sec><sec sec-type="display-objects"><fig id="F1"><label>Figure 1</label><caption>'
        "<p>KEEP-figure Survival by arm.</p></caption></fig></sec><ack><fig><caption><p>DROP-ackfig</p></caption>"
        "</fig></ack></back>"
    )
    docs, rejects = read_one(tmp_path, article(body=body, back=back))
    assert rejects == []
    text = docs[0].text
    assert "DROP" not in text, [line for line in text.splitlines() if "DROP" in line]
    assert "KEEP-funding-topic" in text and "KEEP-conflict-topic" in text and "KEEP-contributions" in text
    assert text.endswith("\n\nFigure 1. KEEP-figure Survival by arm.")


def test_formulas_option(tmp_path):
    body = (
        f"<sec><title>Methods</title>{PARAGRAPH}<p>Differences with <inline-formula><mml:math "
        'xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:mi>p</mml:mi><mml:mo>&lt;</mml:mo><mml:mn>0.05'
        "</mml:mn></mml:math></inline-formula> were kept, with a rate <inline-formula><tex-math>\\lambda</tex-math>"
        "</inline-formula>, as follows:</p><disp-formula><tex-math>y = ax + b</tex-math></disp-formula>"
        "<p>Then we stopped.</p></sec>"
    )
    dropped = read_one(tmp_path, article(body=body))[0][0].text
    assert "Differences with p<0.05 were kept, with a rate, as follows:\n\nThen we stopped." in dropped
    assert "[formula]" not in dropped and "lambda" not in dropped
    placeholder = read_one(tmp_path, article(body=body), formulas="placeholder")[0][0].text
    assert "with a rate [formula], as follows:\n\n[formula]\n\nThen we stopped." in placeholder
    with pytest.raises(ValueError, match="formulas"):
        PMCReader([str(tmp_path)], formulas="mathml")


def test_citation_options(tmp_path):
    cites = '<xref ref-type="bibr" rid="B1">Smith et al. 2010</xref>; <xref ref-type="bibr" rid="B2">Lee 2011</xref>'
    body = f'<sec><title>Results</title>{PARAGRAPH}<p>Rates rose ({cites}) and fell [<xref ref-type="bibr" rid="B3">3</xref>].</p></sec>'  # noqa: E501
    assert "\nRates rose and fell." in read_one(tmp_path, article(body=body))[0][0].text
    kept = read_one(tmp_path, article(body=body), author_year_citations=False)[0][0].text
    assert "\nRates rose (Smith et al. 2010; Lee 2011) and fell." in kept


@pytest.mark.parametrize(
    ("article_type", "options", "reason"),
    [
        ("correction", {}, "article_type:correction"),
        ("Retraction", {}, "article_type:retraction"),
        ("expression-of-concern", {}, "article_type:expression-of-concern"),
        ("editorial", {}, "article_type:editorial"),
        ("erratum", {}, "article_type:erratum"),
        ("editorial", {"exclude_article_types": ()}, None),
        ("editorial", {"exclude_article_types": None}, None),
        ("correction", {"exclude_article_types": ["letter"]}, None),
        ("letter", {"exclude_article_types": ["Letter", "news"]}, "article_type:letter"),
        ("case-report", {"exclude_article_types": "case-report, letter"}, "article_type:case-report"),
        ("research-article", {}, None),
        ("review-article", {}, None),
    ],
)
def test_article_type_filter(tmp_path, article_type, options, reason):
    docs, rejects = read_one(tmp_path, article(article_type=article_type), **options)
    assert rejects == ([(reason, "pmc:PMC42")] if reason else [])
    assert len(docs) == (0 if reason else 1)


def test_license_filter():
    docs, rejects = read_all(PMCReader([str(PMC_SAMPLES)], licenses=["CC-BY", "CC0"]))
    assert [d.metadata["license"] for d in docs] == ["CC-BY-4.0", "CC0-1.0"]
    assert rejects == [("license:CC-BY-NC-4.0", "pmc:PMC99100003")]
    docs, rejects = read_all(PMCReader([str(PMC_SAMPLES)], licenses="cc-by-4.0"))
    assert [d.id for d in docs] == ["pmc:PMC99100001"] and len(rejects) == 2
    docs, _ = read_all(PMCReader([str(PMC_SAMPLES)], licenses="CC-BY-NC, CC0"))
    assert [d.metadata["license"] for d in docs] == ["CC0-1.0", "CC-BY-NC-4.0"]
    assert len(read_all(PMCReader([str(PMC_SAMPLES)], licenses=None))[0]) == 3
    for bad in ([], "", [3]):
        with pytest.raises(ValueError, match="licenses"):
            PMCReader([str(PMC_SAMPLES)], licenses=bad)


@pytest.mark.parametrize(
    ("license_id", "family"),
    [("CC-BY-NC-2.0-UK", "CC-BY-NC"), ("CC0-1.0", "CC0"), ("CC-BY-4.0", "CC-BY"), ("CC-BY", "CC-BY"),
     ("CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA"), ("PDM-1.0", "PDM"), ("public-domain", "public-domain"),
     ("unknown", "unknown")],
)  # fmt: skip
def test_license_family(license_id, family):
    assert license_family(license_id) == family
    assert license_allowed(license_id, [family.lower()])


def test_license_allowed():
    assert license_allowed("CC-BY-4.0", ["CC-BY", "CC0"]) and license_allowed("CC0-1.0", ["CC-BY", "CC0"])
    assert not license_allowed("CC-BY-NC-4.0", ["CC-BY", "CC0"])
    assert not license_allowed("CC-BY-SA-4.0", ["CC-BY"]) and not license_allowed("unknown", ["CC-BY"])
    assert license_allowed("CC-BY-4.0", ["CC-BY-4.0"]) and not license_allowed("CC-BY-3.0", ["CC-BY-4.0"])


# ---- evidence on the real articles -------------------------------------------------------------------------------
