"""MIMIC reader: bundled samples, the real header-only demo file, huge fields, CXR folders and zips, bad rows."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import random
import shutil
import zipfile
from pathlib import Path

import pytest
from datatrove.utils.logging import logger
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.sources import reader_class
from medcorpus.sources.mimic.reader import MIMIC3_COLUMNS, MIMIC4_COLUMNS, MimicReader, SeenTexts, text_key

SAMPLES = SAMPLES / "mimic"
HEADER3 = ",".join(f'"{c.upper()}"' for c in MIMIC3_COLUMNS)
NOTE = "Patient resting comfortably overnight. Vital signs stable, lungs clear, plan to continue current therapy."
CXR_REL = "files/p10/p10000032/s50414267.txt"


def mimic3_row(row_id, text=NOTE, category="Nursing", iserror="", columns=11) -> list[str]:
    row = [str(row_id), "31245", "158812", "2142-03-12 00:00:00", "", "", category, "Report", "", iserror, text]
    return row[:columns] if columns <= 11 else row + ["extra"] * (columns - 11)


def write_csv(path: Path, header: str, rows: list[list[str]], newline: str = "\n") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    for row in rows:
        writer.writerow(row)
    path.write_text(header + newline + buffer.getvalue(), encoding="utf-8", newline="")
    return path


@pytest.fixture(scope="module")
def cxr_report(shared_data) -> str:
    return (shared_data / "mimic/lookalikes/mimic_website_cxr_example/example_report.txt").read_text(encoding="utf-8")


def test_registered_under_mimic():
    assert reader_class("mimic") is MimicReader


def test_samples_read_with_ids_and_metadata():
    docs, rejects = read_all(MimicReader([str(SAMPLES)]))
    ids = [d.id for d in docs]
    assert ids == [
        "mimic3:174", "mimic3:2081", "mimic3:3520", "mimic3:5012", "mimic3:6630",
        "mimic4:10004711-DS-7", "mimic4:10004711-AD-2", "mimic4:10019385-DS-15", "mimic4:10031757-DS-3",
    ]  # fmt: skip
    assert rejects == [("iserror", "mimic3:3521")]
    for doc in docs:
        meta = doc.metadata
        assert meta["category"] == "clinical" and meta["license"] == "physionet-credentialed"
        assert meta["restricted"] is True and meta["source"] == doc.id.split(":")[0]
        assert 150 <= len(doc.text.split()) and "\r" not in doc.text
    summary = docs[0]
    assert summary.metadata["row_id"] == 174 and summary.metadata["hadm_id"] == 158812
    assert summary.metadata["note_category"] == "Discharge summary" and summary.metadata["chart_date"] == "2142-03-17"
    assert (
        summary.text.startswith("Admission Date:  [**2142-3-10**]")
        and "\n\nHistory of Present Illness:\n" in summary.text
    )
    discharge = docs[5].metadata
    assert discharge["note_id"] == "10004711-DS-7" and discharge["note_type"] == "DS" and discharge["note_seq"] == 7
    assert discharge["subject_id"] == 10004711 and discharge["chart_date"] == "2178-09-21"


def test_iserror_kept_when_asked_and_category_filters():
    docs, _ = read_all(MimicReader([str(SAMPLES / "NOTEEVENTS.csv")], drop_iserror=False))
    assert "mimic3:3521" in [d.id for d in docs] and len(docs) == 6
    docs, rejects = read_all(MimicReader([str(SAMPLES)], categories=["discharge summary"]))
    assert [d.id for d in docs] == [
        "mimic3:174",
        "mimic4:10004711-DS-7",
        "mimic4:10019385-DS-15",
        "mimic4:10031757-DS-3",
    ]
    assert {r for r, _ in rejects} == {"category_filtered", "iserror"}
    docs, rejects = read_all(MimicReader([str(SAMPLES)], drop_categories=["Radiology", "echo", "AD"]))
    assert {"mimic3:2081", "mimic3:5012", "mimic4:10004711-AD-2"}.isdisjoint(d.id for d in docs) and len(docs) == 6


def test_real_header_only_demo_file(shared_data):
    path = shared_data / "mimic/lookalikes/mimic3_demo_v1.4/NOTEEVENTS.csv"
    assert b"\r\n" in path.read_bytes()[:200]
    docs, rejects = read_all(MimicReader([str(path)]))
    assert docs == [] and rejects == []


def test_huge_field_with_newlines_quotes_and_crlf(tmp_path):
    huge = ('He said "stop" twice.\nLine two, with a comma.\n' + "x" * 80 + "\n") * 24_000
    assert len(huge) > 3_000_000
    path = write_csv(tmp_path / "NOTEEVENTS.csv", HEADER3, [mimic3_row(1, huge), mimic3_row(2)], newline="\r\n")
    docs, rejects = read_all(MimicReader([str(path)]))
    assert rejects == [] and [d.id for d in docs] == ["mimic3:1", "mimic3:2"]
    assert docs[0].text == huge and docs[1].text == NOTE


def test_gzip_inputs_match_plain(tmp_path):
    for name in ("NOTEEVENTS.csv", "discharge.csv"):
        with (SAMPLES / name).open("rb") as src, gzip.open(tmp_path / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    plain, _ = read_all(MimicReader([str(SAMPLES)]))
    packed, _ = read_all(MimicReader([str(tmp_path)]))
    assert [(d.id, d.text, d.metadata) for d in packed] == [(d.id, d.text, d.metadata) for d in plain]


def test_lowercase_unquoted_mimic4_header(tmp_path):
    header = ",".join(MIMIC4_COLUMNS)
    row = ["10000001-RR-5", "10000001", "", "RR", "5", "2150-01-02 10:00:00", "", "EXAMINATION: CHEST.\n" + NOTE]
    docs, rejects = read_all(MimicReader([str(write_csv(tmp_path / "radiology.csv", header, [row]))]))
    assert rejects == [] and docs[0].id == "mimic4:10000001-RR-5"
    assert docs[0].metadata["note_category"] == "Radiology" and "hadm_id" not in docs[0].metadata


def test_bad_rows_are_rejected_and_reading_goes_on(tmp_path):
    rows = [
        mimic3_row(1),
        mimic3_row(2, columns=9),
        mimic3_row(3, text="  \n "),
        mimic3_row(4, columns=12),
        mimic3_row(5, NOTE + " Reviewed again in the morning."),
    ]
    docs, rejects = read_all(MimicReader([str(write_csv(tmp_path / "NOTEEVENTS.csv", HEADER3, rows))]))
    assert [d.id for d in docs] == ["mimic3:1", "mimic3:5"]
    assert rejects == [("bad_row", None), ("empty_text", "mimic3:3"), ("bad_row", None)]


@pytest.mark.parametrize("header", ['"ID","TEXT"', "", "note_id,subject_id,text"])
def test_unknown_header_rejects_whole_file(tmp_path, header):
    path = tmp_path / "other.csv"
    path.write_text(header + ("\n1,some text\n" if header else ""), encoding="utf-8")
    docs, rejects = read_all(MimicReader([str(path)]))
    assert docs == [] and rejects == [("unknown_header", None)]


def test_cxr_folder(tmp_path, cxr_report):
    report = tmp_path / CXR_REL
    report.parent.mkdir(parents=True)
    report.write_text(cxr_report, encoding="utf-8")
    (tmp_path / "files/p10/p10000032/notes.txt").write_text("not a report", encoding="utf-8")
    docs, rejects = read_all(MimicReader([str(tmp_path)]))
    assert [d.id for d in docs] == ["mimiccxr:s50414267"] and rejects == [("unknown_header", None)]
    doc = docs[0]
    assert doc.text == cxr_report and "FINAL REPORT" in doc.text and "___" in doc.text
    assert doc.metadata["source"] == "mimiccxr" and doc.metadata["subject_id"] == 10000032
    assert doc.metadata["study_id"] == 50414267 and doc.metadata["restricted"] is True


def test_cxr_zip_in_memory_with_size_bound(tmp_path, cxr_report):
    archive = tmp_path / "mimic-cxr-reports.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimic-cxr-reports/" + CXR_REL, cxr_report)
        zf.writestr("mimic-cxr-reports/files/p10/p10000032/s53189527.txt", cxr_report.replace("___", "[gone]"))
        zf.writestr("mimic-cxr-reports/files/p11/p11000011/s59999999.txt", "A" * 5000)
        zf.writestr("mimic-cxr-reports/files/p11/p11000011/s50000001.txt", "")
        zf.writestr("mimic-cxr-reports/README.txt", "readme")
    docs, rejects = read_all(MimicReader([str(archive)], max_report_bytes=4000))
    assert [d.id for d in docs] == ["mimiccxr:s50414267", "mimiccxr:s53189527"]
    assert docs[0].text == cxr_report
    assert sorted(rejects) == [("empty_text", "mimiccxr:s50000001"), ("oversized", "mimiccxr:s59999999")]
    assert not list(tmp_path.glob("**/files"))  # nothing extracted


def test_logs_carry_reasons_but_never_text(tmp_path, caplog):
    secret = "Zebulonically unique sentence about the patient"
    rows = [mimic3_row(1, secret, iserror="1"), mimic3_row(2, secret, columns=10), mimic3_row(3, secret)]
    path = write_csv(tmp_path / "NOTEEVENTS.csv", HEADER3, rows)
    sink = logger.add(lambda message: logging.getLogger("loguru").warning(message), level="DEBUG")
    try:
        with caplog.at_level(logging.DEBUG):
            docs, rejects = read_all(MimicReader([str(path)]))
    finally:
        logger.remove(sink)
    assert [d.id for d in docs] == ["mimic3:3"] and len(rejects) == 2
    assert "iserror" in caplog.text and "bad_row" in caplog.text
    assert "Zebulonically" not in caplog.text


def test_duplicate_texts_dropped_within_a_file_first_kept(tmp_path):
    crlf = NOTE.replace(". ", ".\r\n")
    rows = [
        mimic3_row(1, "Other note entirely, with enough words to stand on its own."),
        mimic3_row(2, NOTE, iserror="1"),  # rejected first: the next copy is the first kept one
        mimic3_row(3, NOTE.replace(". ", ".\n")),
        mimic3_row(4, crlf),  # the same text once CRLF is cleaned
        mimic3_row(5, NOTE, category="Radiology"),
        mimic3_row(6, NOTE),
    ]
    path = write_csv(tmp_path / "NOTEEVENTS.csv", HEADER3, rows)
    docs, rejects = read_all(MimicReader([str(path)], drop_categories=["radiology"]))
    assert [d.id for d in docs] == ["mimic3:1", "mimic3:3", "mimic3:6"]
    assert rejects == [("iserror", "mimic3:2"), ("duplicate_text", "mimic3:4"), ("category_filtered", "mimic3:5")]
    docs, rejects = read_all(MimicReader([str(path)], drop_duplicate_texts=False))
    assert [d.id for d in docs] == ["mimic3:1", "mimic3:3", "mimic3:4", "mimic3:5", "mimic3:6"]
    (tmp_path / "more").mkdir()
    again = write_csv(tmp_path / "more" / "NOTEEVENTS.csv", HEADER3, [mimic3_row(7, NOTE)])
    docs, _ = read_all(MimicReader([str(path), str(again)]))
    assert "mimic3:7" in [d.id for d in docs]  # the scope is one input file: the corpus dedup stage sees across


def test_duplicate_reports_in_a_zip(tmp_path, cxr_report):
    archive = tmp_path / "mimic-cxr-reports.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("files/p10/p10000032/s50414267.txt", cxr_report)
        zf.writestr("files/p10/p10000032/s50000002.txt", cxr_report.replace("\n", "\r\n"))
        zf.writestr("files/p10/p10000032/s50000003.txt", cxr_report + "Addendum.")
    docs, rejects = read_all(MimicReader([str(archive)]))  # members in name order: s50000002 comes first
    assert [d.id for d in docs] == ["mimiccxr:s50000002", "mimiccxr:s50000003"]
    assert docs[0].text == cxr_report and rejects == [("duplicate_text", "mimiccxr:s50414267")]


def test_seen_texts_matches_a_set_across_merges():
    rng = random.Random(3)
    keys = [rng.getrandbits(63) for _ in range(300)]
    stream = [rng.choice(keys) for _ in range(2000)] + [0, (1 << 63) - 1, 0]
    seen, reference = SeenTexts(batch=16), set()
    for key in stream:
        assert seen.add(key) == (key not in reference)
        reference.add(key)
    assert len(seen.merged) + len(seen.recent) == len(reference) and len(seen.merged) >= 256
    assert text_key("a\nb") == text_key("a\nb") != text_key("a\nb ") and 0 <= text_key("x") < 1 << 63
