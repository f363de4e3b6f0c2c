"""PubMed record cutting, other-language abstracts, update semantics and PMC linking across sources."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from support.helpers import read_all
from support.paths import SAMPLES
from test_sources_pubmed import LONG, citation, write_set

from medcorpus.paths import InputError
from medcorpus.run.config import SourceConfig
from medcorpus.run.context import StageContext
from medcorpus.run.counts import read_exclusions
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import source_stage
from medcorpus.sources.pubmed.reader import PubMedReader
from medcorpus.sources.xml import records as xmlrecords
from medcorpus.sources.xml.records import RecordError, iter_records

TAGS = ("PubmedArticle", "DeleteCitation")


def other_abstract(language: str, text: str, kind: str = "Publisher") -> str:
    return f'<OtherAbstract Type="{kind}" Language="{language}"><AbstractText>{text}</AbstractText></OtherAbstract>'


def with_other(record: str, *others: str) -> str:
    return record.replace("</Article>", "</Article>" + "".join(others))


def deletion(*pmids: str) -> str:
    return "<DeleteCitation>" + "".join(f'<PMID Version="1">{p}</PMID>' for p in pmids) + "</DeleteCitation>"


def test_records_are_cut_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(xmlrecords, "CHUNK_BYTES", 7)  # every tag and record straddles chunks
    data = b"<PubmedArticleSet><PubmedArticle>one</PubmedArticle>\n<DeleteCitation><PMID>9</PMID></DeleteCitation>"
    data += b"<PubmedArticle a='1'>two</PubmedArticle></PubmedArticleSet>"
    records = list(iter_records(io.BytesIO(data), TAGS))
    assert records == [
        ("PubmedArticle", b"<PubmedArticle>one</PubmedArticle>"),
        ("DeleteCitation", b"<DeleteCitation><PMID>9</PMID></DeleteCitation>"),
        ("PubmedArticle", b"<PubmedArticle a='1'>two</PubmedArticle>"),
    ]


def test_oversized_and_truncated_records_are_reported_and_skipped(monkeypatch):
    monkeypatch.setattr(xmlrecords, "CHUNK_BYTES", 16)
    big = b"<PubmedArticle>" + b"x" * 500 + b"</PubmedArticle>"
    data = b"<S>" + big + b"<PubmedArticle>ok</PubmedArticle><PubmedArticle>cut off"
    records = list(iter_records(io.BytesIO(data), TAGS, max_record_bytes=100))
    assert records == [
        RecordError("PubmedArticle", "record_too_large"),
        ("PubmedArticle", b"<PubmedArticle>ok</PubmedArticle>"),
        RecordError("PubmedArticle", "truncated_record"),
    ]


def test_an_unterminated_record_never_holds_more_than_the_limit(monkeypatch):
    monkeypatch.setattr(xmlrecords, "CHUNK_BYTES", 1024)
    seen = []

    class Stream(io.RawIOBase):  # 50 MB of one never-closed record, produced lazily
        left = 50 * 2**20

        def read(self, size=-1):
            size = min(size, self.left)
            self.left -= size
            seen.append(size)
            return b"<PubmedArticle>" if len(seen) == 1 else b"y" * size

    records = list(iter_records(Stream(), TAGS, max_record_bytes=64 * 1024))
    assert records == [RecordError("PubmedArticle", "record_too_large")]
    assert sum(seen) >= 50 * 2**20 - 1024  # it streamed to the end instead of stopping or buffering


def test_malformed_record_mid_file_is_skipped_and_the_rest_parses(tmp_path):
    broken = citation("2").replace("</ArticleTitle>", "</ArticleTitel>")
    path = write_set(tmp_path / "a.xml", citation("1"), broken, citation("3"))
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:3"]
    assert rejects == [("malformed_xml", None)]
    assert [d.metadata["record"] for d in docs] == [0, 2] and docs[0].metadata["file"] == "a.xml"


def test_other_abstracts_metadata_and_fallback(tmp_path):
    german = "Die Patienten wurden zwei Jahre lang beobachtet und alle Besuche wurden dokumentiert. " * 4
    english_only_other = with_other(citation("2", abstract=""), other_abstract("eng", LONG, "PIP"))
    both = with_other(citation("1"), other_abstract("ger", german))
    german_only = with_other(citation("3", abstract="", language="ger"), other_abstract("ger", german))
    path = write_set(tmp_path / "a.xml", both, english_only_other, german_only)
    docs, rejects = read_all(PubMedReader([str(path)]))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:2"]
    assert rejects == [("language:ger", "pubmed:3")]
    first, second = docs
    assert first.metadata["abstract_source"] == "medline" and german.strip() not in first.text
    assert first.metadata["other_abstracts"] == [{"language": "ger", "type": "Publisher", "text": german.strip()}]
    assert second.metadata["abstract_source"] == "PIP" and second.text.endswith(LONG.strip())
    docs, _ = read_all(PubMedReader([str(path)], languages=["ger"]))
    assert [(d.id, d.metadata["language"]) for d in docs] == [("pubmed:1", "ger"), ("pubmed:3", "ger")]
    assert docs[0].text.endswith(german.strip())


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("[The pineal body].", "The pineal body."),
        ("[Light microscopy of macrophages [author's transl)].", "Light microscopy of macrophages [author's transl)."),
        ("[32P] diphosphonate dosing.", "[32P] diphosphonate dosing."),
        ("[3H]thymidine uptake [in rats].", "[3H]thymidine uptake [in rats]."),
        ("Plain title.", "Plain title."),
    ],
)
def test_translated_titles_lose_their_brackets(tmp_path, title, expected):
    path = write_set(tmp_path / "a.xml", citation("1").replace("Title 1.", title))
    docs, _ = read_all(PubMedReader([str(path)]))
    assert docs[0].metadata["title"] == expected and docs[0].text.startswith(expected + "\n\n")


def test_pmc_folders_must_exist(tmp_path):
    path = write_set(tmp_path / "a.xml", citation("1"))
    with pytest.raises(InputError, match="pmc_folders: folder not found"):
        PubMedReader([str(path)], pmc_folders=[str(tmp_path / "nowhere")])


def read_output(folder: Path) -> dict[str, object]:
    """Documents a stage wrote for PubMed, by id (Parquet)."""
    import pyarrow.parquet as pq

    docs = {}
    for path in sorted((folder / "pubmed").glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            docs[row["id"]] = (row["text"], json.loads(row["metadata"]))
    return docs


def run_sources(out: Path, sources: dict[str, SourceConfig], workers: int = 2) -> dict:
    stage = source_stage(sources, StageContext(str(out), "parquet", workers))
    run_stages([stage], "local", workers)
    return read_output(out)


def test_updates_replace_and_delete_across_baseline_and_update_files(tmp_path):
    baseline = tmp_path / "baseline"
    updates = tmp_path / "updatefiles"
    baseline.mkdir(), updates.mkdir()
    revised = LONG.replace("two years", "three years")
    write_set(baseline / "pubmed25n0001.xml", citation("1"), citation("2"), citation("3"), citation("4"))
    write_set(baseline / "pubmed25n0002.xml", citation("5"), citation("6"))
    write_set(updates / "pubmed25n0003.xml", citation("2", abstract=revised), deletion("3", "6"))
    write_set(updates / "pubmed25n0004.xml", citation("4", abstract=""), citation("3", abstract=revised))
    source = SourceConfig(type="pubmed", inputs=[str(updates), str(baseline)])
    docs = run_sources(tmp_path / "out", {"pubmed": source})
    assert sorted(docs) == ["pubmed:1", "pubmed:2", "pubmed:3", "pubmed:5"]
    assert "three years" in docs["pubmed:2"][0] and docs["pubmed:2"][1]["file"] == "pubmed25n0003.xml"
    assert "three years" in docs["pubmed:3"][0]  # deleted, then published again later
    removed = read_exclusions(tmp_path / "out" / "excluded")["pubmed"]
    # 4's latest record has no abstract, so its baseline version goes too; 6 was deleted
    assert removed == {"superseded": 3, "deleted": 1, "no_abstract": 1}

    one_worker = run_sources(tmp_path / "out1", {"pubmed": source}, workers=1)
    assert one_worker == docs


def test_updates_off_keeps_every_version(tmp_path):
    write_set(tmp_path / "pubmed25n0001.xml", citation("1"), citation("2"))
    write_set(tmp_path / "pubmed25n0002.xml", citation("1", abstract=LONG + " Revised."), deletion("2"))
    options = {"apply_updates": False}
    stage = source_stage(
        {"p": SourceConfig(type="pubmed", inputs=[str(tmp_path)], options=options)}, StageContext("x", "parquet", 1)
    )
    assert len(stage.pipelines) == 3  # read, then only the PMC link (nothing to link here)
    docs, _ = read_all(PubMedReader([str(tmp_path)], apply_updates=False))
    assert [d.id for d in docs] == ["pubmed:1", "pubmed:2", "pubmed:1"]


def test_abstracts_with_pmc_full_text_in_the_run_are_dropped(tmp_path):
    """The bundled PubMed and PMC samples share articles: PubMed's copies go, counted by reason."""
    sources = {
        "pubmed": SourceConfig(type="pubmed", inputs=[str(SAMPLES / "pubmed")]),
        "pmc": SourceConfig(type="pmc", inputs=[str(SAMPLES / "pmc")]),
    }
    docs = run_sources(tmp_path / "out", sources)
    pmc_pmids = {"99200001", "99200013", "99200014"}
    alone, _ = read_all(PubMedReader([str(SAMPLES / "pubmed")]))
    linked = {d.id for d in alone if d.metadata["pmid"] in pmc_pmids}
    assert linked and set(docs) == {d.id for d in alone} - linked
    assert read_exclusions(tmp_path / "out" / "excluded")["pubmed"]["pmc_full_text"] == len(linked)

    kept = run_sources(
        tmp_path / "off",
        sources | {"pubmed": sources["pubmed"].model_copy(update={"options": {"drop_with_pmc_full_text": False}})},
    )
    assert set(kept) == {d.id for d in alone}


def test_pmc_folders_link_a_separate_pmc_run(tmp_path):
    pmc_out = tmp_path / "pmc_out"
    run_stages(
        [
            source_stage(
                {"pmc": SourceConfig(type="pmc", inputs=[str(SAMPLES / "pmc")])},
                StageContext(str(pmc_out), "parquet", 1),
            )
        ]
    )
    options = {"pmc_folders": [str(pmc_out)]}
    docs = run_sources(
        tmp_path / "out", {"pubmed": SourceConfig(type="pubmed", inputs=[str(SAMPLES / "pubmed")], options=options)}
    )
    assert "pubmed:99200001" not in docs and "pubmed:99200002" in docs


def test_reads_baseline_files_from_an_http_url(tmp_path):
    from support.http_fixture import serve

    sample = (SAMPLES / "pubmed" / "sample_pubmed.xml").read_bytes()
    (tmp_path / "pubmed25n0001.xml.gz").write_bytes(gzip.compress(sample))
    local, _ = read_all(PubMedReader([str(SAMPLES / "pubmed")]))
    with serve(tmp_path) as server:
        reader = PubMedReader([server.url + "pubmed25n0001.xml.gz"])
        assert reader.files == [server.url + "pubmed25n0001.xml.gz"]
        docs, rejects = read_all(reader)
    assert [(d.id, d.text) for d in docs] == [(d.id, d.text) for d in local]
    assert len(rejects) == 2


def test_real_baseline_translated_titles_and_other_abstracts(shared_data):
    reader = PubMedReader([str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")], limit=1300)
    docs = {d.id: d for d in reader.run()}
    german = docs["pubmed:399349"]  # a German article: English abstract, NLM's bracketed English title
    assert german.metadata["article_languages"] == ["ger"] and german.metadata["language"] == "eng"
    assert german.text.startswith(
        "Threedimensional reconstruction of odontogenic cysts and their relationship to teeth and bone "
        "(author's transl).\n\nThis study reports on the first time three-dimensional presentation"
    )
    polio = docs["pubmed:400274"]  # no Abstract; the Population Information Program's English OtherAbstract
    assert polio.metadata["abstract_source"] == "PIP"
    assert polio.text.startswith("The epidemiology of poliomyelitis: enigmas surrounding its appearance")
    assert polio.text.endswith("it should be followed by reimmunization with oral vaccine.")
    assert "  " not in polio.text  # the XML's double spaces after full stops are collapsed


def test_a_file_that_is_not_pubmed_xml_is_reported(tmp_path):
    (tmp_path / "a.xml").write_text('{"not": "xml"}')
    (tmp_path / "b.xml").write_bytes(b"")
    docs, rejects = read_all(PubMedReader([str(tmp_path)]))
    assert docs == [] and rejects == [("not_pubmed_xml", None), ("not_pubmed_xml", None)]


def test_guidelines_only_keeps_practice_guidelines_as_guideline_documents(tmp_path):
    records = [
        citation("1", types=("Journal Article", "Practice Guideline")),
        citation("2"),
        citation("3", types=("Guideline",)),
    ]
    path = write_set(tmp_path / "a.xml", *records)
    docs, rejects = read_all(PubMedReader([str(path)], guidelines_only=True))
    assert [d.id for d in docs] == ["guideline:pubmed:1", "guideline:pubmed:3"]
    assert rejects == [("not_a_guideline", "guideline:pubmed:2")]
    assert {d.metadata["source"] for d in docs} == {"guidelines"}
    assert all(d.metadata["site"] == "pubmed" and d.metadata["redistributable"] is False for d in docs)
