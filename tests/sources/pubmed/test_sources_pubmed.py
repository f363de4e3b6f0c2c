"""PubMed reader and the safe XML helpers: flattening, filters, hostile files, the real baseline file."""

from __future__ import annotations

import gzip
import re
import resource
from pathlib import Path

import pytest
from lxml import etree
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.sources import reader_class
from medcorpus.sources.pubmed.reader import PubMedReader
from medcorpus.sources.xml.safe import flatten_text

SAMPLE = SAMPLES / "pubmed" / "sample_pubmed.xml"
HEADER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n'
)
LONG = "Participants were followed for two years and outcomes were recorded at every visit by trained staff. " * 4


def citation(pmid: str, abstract: str = LONG, language: str = "eng", types: tuple[str, ...] = ("Journal Article",)):
    """One PubmedArticle record as XML text."""
    pmid_xml = f'<PMID Version="1">{pmid}</PMID>' if pmid else ""
    types_xml = "".join(f"<PublicationType>{t}</PublicationType>" for t in types)
    abstract_xml = f"<Abstract><AbstractText>{abstract}</AbstractText></Abstract>" if abstract else ""
    return (
        f"<PubmedArticle><MedlineCitation>{pmid_xml}<Article><Journal><JournalIssue><PubDate><Year>2001</Year>"
        f"</PubDate></JournalIssue><Title>Test Journal</Title></Journal><ArticleTitle>Title {pmid}.</ArticleTitle>"
        f"{abstract_xml}<Language>{language}</Language><PublicationTypeList>{types_xml}</PublicationTypeList>"
        "</Article></MedlineCitation><PubmedData><ArticleIdList/></PubmedData></PubmedArticle>"
    )


def write_set(path: Path, *records: str, doctype: str = HEADER) -> Path:
    path.write_text(doctype + "<PubmedArticleSet>" + "".join(records) + "</PubmedArticleSet>", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<a>CO<sub>2</sub> levels</a>", "CO2 levels"),
        ("<a><i>in vivo</i> data</a>", "in vivo data"),
        ("<a>the <b>bold</b><i>italic</i> word</a>", "the bolditalic word"),
        ("<a>before <italic>x</italic>, <xref rid='r1'>[3]</xref>after</a>", "before x, [3]after"),
        ("<a>  spread\n\tover   lines  </a>", "spread over lines"),
        ("<a>10<sup>6</sup> cells and H<sup>+</sup> ions, ref<sup>12</sup></a>", "10^6 cells and H+ ions, ref12"),
        ("<a>a fast-acting beta\n      <sub>2</sub>-agonist</a>", "a fast-acting beta2-agonist"),
        ("<a><p>First.</p><p>Second.</p>tail</a>", "First. Second. tail"),
        ("<a>x<tex-math>\\alpha</tex-math> y</a>", "x y"),
        ("<a xmlns:l='http://www.w3.org/1999/xlink'>see <ext-link l:href='https://example.org/x'/> now</a>",
         "see https://example.org/x now"),
        ("<a>see <ext-link>the site</ext-link>.</a>", "see the site."),
    ],
)  # fmt: skip
def test_flatten_text_inline_markup(xml, expected):
    assert flatten_text(etree.fromstring(xml)) == expected


def test_flatten_text_none_and_empty():
    assert flatten_text(None) == ""
    assert flatten_text(etree.fromstring("<a/>")) == ""


def test_sample_file_documents_and_rejects():
    docs, rejects = read_all(PubMedReader([str(SAMPLE)]))
    assert [d.id for d in docs] == [f"pubmed:992000{n:02d}" for n in range(1, 11)]
    assert rejects == [("language:ger", "pubmed:99200011"), ("no_abstract", "pubmed:99200012")]
    for doc in docs:
        assert doc.metadata["source"] == "pubmed"
        assert doc.metadata["category"] == "biomedical"
        assert doc.metadata["license"] == "pubmed-citation"
        assert doc.metadata["language"] == "eng"
        title, abstract = doc.text.split("\n\n", 1)
        assert title == doc.metadata["title"]
        assert len(abstract) >= 200


def test_sample_structured_abstract_layout_and_metadata():
    docs, _ = read_all(PubMedReader([str(SAMPLE)]))
    first = docs[0]
    assert first.text.startswith(
        "Home blood pressure telemonitoring after hypertensive disorders of pregnancy: a pragmatic randomised trial."
        "\n\nBACKGROUND:\nBlood pressure often rises again in the first weeks after a pregnancy"
    )
    assert "\n\nMETHODS:\nIn this pragmatic, open-label trial" in first.text
    assert first.text.endswith("Longer follow-up is needed to see whether these gains persist.")
    assert "© 2021" not in first.text
    meta = first.metadata
    assert meta["pmid"] == "99200001" and meta["pmid_version"] == 1
    assert meta["pmcid"] == "PMC99100001"
    assert meta["doi"] == "10.5555/jpcr.2021.0142"
    assert meta["year"] == 2021
    assert meta["journal"] == "Journal of perinatal clinical research"
    assert meta["publication_types"] == ["Journal Article", "Randomized Controlled Trial"]
    assert "Telemedicine" in meta["mesh_headings"]
    assert meta["copyright"] == "© 2021 Okafor and Lindqvist."
    by_id = {d.id: d for d in docs}
    assert by_id["pubmed:99200004"].metadata["year"] == 2018  # from <MedlineDate>2018 Nov-Dec</MedlineDate>
    assert by_id["pubmed:99200008"].metadata["doi"] == "10.5555/pcar.2023.0311"  # from ELocationID
    assert by_id["pubmed:99200008"].metadata["pmid_version"] == 2
    assert "\n\nCONCLUSION:\nVery early mobilisation" in by_id["pubmed:99200006"].text
    assert "doi" not in by_id["pubmed:99200003"].metadata  # no DOI given, none invented


def test_sample_inline_markup_is_flattened():
    docs, _ = read_all(PubMedReader([str(SAMPLE)]))
    text = {d.id: d.text for d in docs}["pubmed:99200010"]
    assert text.startswith("Survival of Staphylococcus aureus on hospital textiles")
    assert "contaminated with Staphylococcus aureus, including" in text
    assert "inoculated with 10^6 colony-forming units" in text
    assert "enriched to 5% CO2 to mimic" in text
    assert "more than 5 log10 on both fabrics" in text
    assert "These in vitro data support" in text
    assert "<" not in text


def test_languages_none_keeps_non_english():
    docs, rejects = read_all(PubMedReader([str(SAMPLE)], languages=None))
    german = {d.id: d for d in docs}["pubmed:99200011"]
    assert german.metadata["language"] == "ger"
    assert "HINTERGRUND:\nDie hausärztliche Versorgung" in german.text
    assert rejects == [("no_abstract", "pubmed:99200012")]


def test_min_abstract_chars(tmp_path):
    path = write_set(tmp_path / "a.xml", citation("1", abstract="Too short to keep."), citation("2"))
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:2"]
    assert rejects == [("abstract_too_short", "pubmed:1")]
    docs, _ = read_all(PubMedReader([str(path)], min_abstract_chars=0))
    assert len(docs) == 2


def test_publication_type_exclusion(tmp_path):
    path = write_set(
        tmp_path / "a.xml",
        citation("1", types=("Published Erratum",)),
        citation("2", types=("Journal Article", "Retraction of Publication")),
        citation("3", types=("Journal Article", "Review")),
    )
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:3"]
    assert rejects == [
        ("publication_type:published_erratum", "pubmed:1"),
        ("publication_type:retraction_of_publication", "pubmed:2"),
    ]
    docs, _ = read_all(PubMedReader([str(path)], exclude_publication_types=("review",)))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:2"]


def test_book_articles_are_counted_not_read(tmp_path):
    book = "<PubmedBookArticle><BookDocument><PMID Version='1'>7</PMID></BookDocument></PubmedBookArticle>"
    path = write_set(tmp_path / "a.xml", citation("1"), book, citation("2"))
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:2"]
    assert rejects == [("book_article", "pubmed:7")]


def test_malformed_record_is_rejected_and_reading_goes_on(tmp_path):
    path = write_set(tmp_path / "a.xml", citation("1"), citation(""), citation("abc"), citation("4"))
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:4"]
    assert rejects == [("malformed_record", None), ("malformed_record", None)]


def test_external_entity_is_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doctype = (
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n'
        f'  <!ENTITY xxe SYSTEM "file://{secret}">\n  <!ENTITY pw SYSTEM "file:///etc/passwd">\n]>\n'
    )
    hostile = citation("1", abstract=LONG + " &xxe; middle &pw; end.")
    path = write_set(tmp_path / "a.xml", hostile, citation("2"), doctype=doctype)
    docs, rejects = read_all(PubMedReader([str(path)]))
    # each record is parsed on its own, where the entities are undeclared: the record is refused, never expanded
    assert rejects == [("malformed_xml", None)]
    assert [d.id for d in docs] == ["pubmed:2"]
    assert all("TOP-SECRET" not in d.text and "root:" not in d.text for d in docs)


def test_billion_laughs_does_not_blow_up(tmp_path):
    levels = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n' + "\n".join(levels) + "\n]>\n"
    path = write_set(tmp_path / "a.xml", citation("1", abstract=LONG + " &lol9;"), doctype=doctype)
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert sum(len(d.text) for d in docs) < 10_000
    assert len(docs) + len(rejects) >= 1
    assert all(reason == "malformed_xml" for reason, _ in rejects)


def test_truncated_gzip_keeps_earlier_documents(tmp_path):
    whole = write_set(tmp_path / "whole.xml", *(citation(str(n)) for n in range(1, 301)))
    full, _ = read_all(PubMedReader([str(whole)]))
    data = gzip.compress(whole.read_bytes())
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: int(len(data) * 0.6)])
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert 1 <= len(docs) < len(full)
    assert [d.id for d in docs] == [d.id for d in full[: len(docs)]]
    assert [d.text for d in docs] == [d.text for d in full[: len(docs)]]
    assert len(rejects) == 1 and re.fullmatch(r"unreadable_file:EOFError|malformed_xml", rejects[0][0])


def test_gzip_and_plain_read_identically(tmp_path):
    path = tmp_path / "s.xml.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    plain, _ = read_all(PubMedReader([str(SAMPLE)]))
    packed, _ = read_all(PubMedReader([str(path)]))
    assert [d.metadata.pop("file") for d in plain + packed] == ["sample_pubmed.xml"] * 10 + ["s.xml.gz"] * 10
    assert [(d.id, d.text, d.metadata) for d in plain] == [(d.id, d.text, d.metadata) for d in packed]


def test_registered_under_pubmed():
    assert reader_class("pubmed") is PubMedReader


def test_real_baseline_first_records(shared_data):
    reader = PubMedReader([str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")], limit=200)
    docs, rejects = read_all(reader)
    assert len(docs) == 200
    assert docs[0].id == "pubmed:399296"
    assert docs[0].metadata["journal"] == "Journal of the South African Veterinary Association"
    assert docs[0].metadata["year"] == 1979
    assert "Food Microbiology" in docs[0].metadata["mesh_headings"]
    for doc in docs:
        assert re.fullmatch(r"pubmed:\d+", doc.id)
        assert doc.metadata["pmid"] == doc.id.split(":")[1]
        assert doc.metadata["language"] == "eng"
        assert len(doc.text.split("\n\n", 1)[1]) >= 200
    for reason, doc_id in rejects:
        assert re.fullmatch(r"no_abstract|abstract_too_short|language:[a-z]+|publication_type:[a-z_]+", reason)
        assert re.fullmatch(r"pubmed:\d+", doc_id)


def test_real_efetch_structured_abstract(shared_data):
    docs, rejects = read_all(PubMedReader([str(shared_data / "pubmed" / "pubmed-29768149.xml")]))
    assert rejects == [] and len(docs) == 1
    doc = docs[0]
    assert doc.id == "pubmed:29768149"
    assert doc.text.startswith("Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.\n\nBACKGROUND:\n")
    assert "fast-acting β2-agonist may be" in doc.text
    assert "\n\nCONCLUSIONS:\nIn patients with mild asthma" in doc.text
    assert doc.metadata["doi"] == "10.1056/NEJMoa1715274"
    assert doc.metadata["year"] == 2018


@pytest.mark.slow
def test_real_baseline_full_file(shared_data):
    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    permissive = PubMedReader([path], languages=None, exclude_publication_types=(), min_abstract_chars=0)
    docs, rejects = read_all(permissive)
    # SOURCES.md: 30,000 records, 14,832 with an abstract
    assert sum(d.metadata["abstract_source"] == "medline" for d in docs) == 14_832
    # 39 more records have no Abstract but an English OtherAbstract (PIP, Population Information Program)
    assert {d.metadata["abstract_source"] for d in docs} == {"medline", "PIP"} and len(docs) == 14_832 + 39
    assert len(rejects) == 30_000 - len(docs) and {reason for reason, _ in rejects} == {"no_abstract"}
    assert len({d.id for d in docs}) == len(docs)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300, f"peak RSS grew by {grown_mb:.0f} MB reading a 174 MB file"

    docs, rejects = read_all(PubMedReader([path]))
    assert len(docs) + len(rejects) == 30_000
    assert all(d.metadata["language"] == "eng" and len(d.text) > 200 for d in docs)
    # MEDLINE's Abstract is English whatever the article's language: German articles' abstracts are kept
    german = [d for d in docs if d.metadata["article_languages"] == ["ger"]]
    assert len(german) > 900 and not any(d.metadata["title"].startswith("[") for d in german)
