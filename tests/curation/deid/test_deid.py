"""De-identification: MIMIC placeholders -> tags, residual PHI, pass-through, logs, and the PhysioNet gold standard."""

from __future__ import annotations

import logging

import pytest
from datatrove.data import Document
from datatrove.utils.logging import logger
from support.paths import SAMPLES

from medcorpus.curation.deid.deidentifier import Deidentifier, normalise_placeholders, placeholder_tag
from medcorpus.curation.deid.detector import TAGS, PhiDetector
from medcorpus.curation.deid.evaluate import evaluate, load_gold
from medcorpus.curation.deid.folds import lockbox_patients
from medcorpus.sources.mimic.reader import MimicReader

SAMPLES = SAMPLES / "mimic"

# Every placeholder form listed in shared/data/mimic/FORMAT.md, plus the other MIMIC-III kinds.
PLACEHOLDERS = [
    ("[**2573-5-30**]", "DATE"), ("[**2118-5-27**]", "DATE"), ("[**2000-05-30**]", "DATE"), ("[**6-25**]", "DATE"),
    ("[**04-19**]", "DATE"), ("[**9-/2171**]", "DATE"), ("[**12/2151**]", "DATE"), ("[**2114**]", "DATE"),
    ("[**1994**]", "DATE"), ("[**94**]", "DATE"), ("[**Year (4 digits) **]", "DATE"),
    ("[**Month (only) 359**]", "DATE"), ("[**Month/Year (2) **]", "DATE"), ("[**Date range (1) 7788**]", "DATE"),
    ("[**Month/Day (3) 109**]", "DATE"), ("[**Holiday 322**]", "DATE"),
    ("[**Known lastname 1858**]", "NAME"), ("[**Known firstname 622**]", "NAME"),
    ("[**Known patient lastname 2004**]", "NAME"), ("[**First Name8 (NamePattern2) **]", "NAME"),
    ("[**Last Name (NamePattern1) 1837**]", "NAME"), ("[**First Name3 (LF) 1893**]", "NAME"),
    ("[**Last Name (STitle) 3**]", "NAME"), ("[**Name (NI) **]", "NAME"), ("[**Initials (NamePattern4) **]", "NAME"),
    ("[**Doctor First Name **]", "NAME"), ("[**Doctor Last Name 160**]", "NAME"),
    ("[**First Name11 (Name Pattern1) **]", "NAME"), ("[**Name Prefix (Prefixes) **]", "NAME"),
    ("[**Dictator Info **]", "NAME"), ("[**MD Number 2012**]", "ID"), ("[**MD Number(1) 1240**]", "ID"),
    ("[**Hospital1 18**]", "HOSPITAL"), ("[**Hospital1 **]", "HOSPITAL"), ("[**Hospital3 **]", "HOSPITAL"),
    ("[**Hospital 1474**]", "HOSPITAL"), ("[**Wardname **]", "HOSPITAL"), ("[**Hospital Unit Name 10**]", "HOSPITAL"),
    ("[**Hospital Ward Name 7**]", "HOSPITAL"), ("[**Location (un) 109**]", "LOCATION"),
    ("[**Location 1234**]", "LOCATION"), ("[**Street Address(1) 4422**]", "LOCATION"), ("[**State 350**]", "LOCATION"),
    ("[**Country 480**]", "LOCATION"), ("[**Company 12924**]", "LOCATION"), ("[**University/College **]", "LOCATION"),
    ("[**Apartment Address(1) 77**]", "LOCATION"), ("[**PO BOX **]", "LOCATION"),
    ("[**Telephone/Fax (1) 534**]", "PHONE"), ("[**Telephone/Fax (3) 8**]", "PHONE"),
    ("[**Pager number 1234**]", "PHONE"), ("[**Medical Record Number 12**]", "ID"), ("[**Unit Number **]", "ID"),
    ("[**Serial Number 3567**]", "ID"), ("[**Social Security Number **]", "ID"), ("[**Job Number 1942**]", "ID"),
    ("[**Clip Number (Radiology) 11853**]", "ID"),
    ("[**Numeric Identifier 6152**]", "ID"), ("[**Provider Number 12**]", "ID"), ("[**Age over 90 **]", "AGE>89"),
    ("[**E-mail address 1123**]", "CONTACT"), ("[**URL 90**]", "CONTACT"), ("[**CC Contact Info 13**]", "CONTACT"),
    ("[**Something new 12**]", "PHI"), ("[** **]", "PHI"),
]  # fmt: skip


@pytest.fixture(scope="module")
def detector() -> PhiDetector:
    return PhiDetector()


@pytest.fixture(scope="module")
def step(detector) -> Deidentifier:
    step = Deidentifier()
    step._detector = detector
    return step


def clinical(text: str, doc_id: str = "mimic3:1", category: str = "clinical") -> Document:
    return Document(text=text, id=doc_id, metadata={"source": "mimic3", "category": category, "license": "x"})


@pytest.mark.parametrize(("placeholder", "tag"), PLACEHOLDERS)
def test_every_placeholder_form_maps_to_its_tag(placeholder, tag):
    assert tag in TAGS
    assert placeholder_tag(placeholder[3:-3]) == tag
    text, counts = normalise_placeholders(f"Seen on {placeholder} by the team.")
    assert text == f"Seen on [{tag}] by the team." and counts == {tag: 1}


def test_untyped_underscores_and_separators():
    note = "Name:  ___  Unit No:   ___\nINDICATION:  ___ year old woman\n" + "_" * 78 + "\nCOMPARISON:  ___."
    text, counts = normalise_placeholders(note)
    assert (
        text
        == "Name:  [PHI]  Unit No:   [PHI]\nINDICATION:  [PHI] year old woman\n" + "_" * 78 + "\nCOMPARISON:  [PHI]."
    )
    assert counts == {"PHI": 4}
    assert normalise_placeholders("a ____ b __ c")[0] == "a ____ b __ c"


@pytest.mark.parametrize(
    ("text", "secret", "tag"),
    [
        ("Seen in clinic on 03/14/2142 for follow up.", "03/14/2142", "DATE"),
        ("Echo done 2142-03-14 showed EF 30%.", "2142-03-14", "DATE"),
        ("Admitted on March 14, 2142 with sepsis.", "March 14, 2142", "DATE"),
        ("Prior MI in '92 treated medically.", "92", "DATE"),
        ("Call the clinic at (617) 555-0142 with questions.", "555-0142", "PHONE"),
        ("Fax results to 617.555.0199 today.", "555.0199", "PHONE"),
        ("Pager #45123 for the covering resident.", "45123", "PHONE"),
        ("Questions to jane.doe@example.org please.", "jane.doe@example.org", "CONTACT"),
        ("See https://portal.example.com/notes for details.", "portal.example.com", "CONTACT"),
        ("MRN: 40211873 verified on the wristband.", "40211873", "ID"),
        ("Unit No: A77812 on the label.", "A77812", "ID"),
        ("Case discussed with Dr. Hartwell this morning.", "Hartwell", "NAME"),
        ("Mrs. Okonkwo walked in the hallway twice.", "Okonkwo", "NAME"),
        ("Name: Kowalczyk, Peter  Unit No: 1234567", "Kowalczyk", "NAME"),
        ("Her son Peter Kowalczyk visited and was updated.", "Kowalczyk", "NAME"),
        ("Report given to Lorna Feeney, RN at shift change.", "Feeney", "NAME"),
        ("Transferred from Palmdale Memorial Hospital overnight.", "Palmdale", "HOSPITAL"),
        ("She lives in Holdenville with her husband.", "Holdenville", "LOCATION"),
        ("This 94 yo woman was admitted from home.", "94", "AGE>89"),
    ],
)
def test_residual_phi_is_found(step, text, secret, tag):
    result, counts = step.deidentify(text)
    assert secret not in result and counts.get(tag, 0) >= 1, (result, counts)


def test_clinical_words_survive(step):
    text = (
        "Patient with heart failure seen in the heart failure clinic. Lasix drip at 10 mg per hour, "
        "Foley catheter in place, blood pressure 110/70, strength 5/5, 1/2 normal saline at 75 cc per hour. "
        "Brief Hospital Course: diuresed well. General: alert and oriented. PEEP 5, PS 10/5."
    )
    result, counts = step.deidentify(text)
    assert result == text and not counts


def test_samples_residual_phi_caught_and_counted(step):
    docs = list(step.run(MimicReader([str(SAMPLES)]).run()))
    assert len(docs) == 9
    everything = "\n".join(d.text for d in docs)
    for secret in ("Hartwell", "03/14/2142", "(617) 555-0142", "617-555-0187", "40211873", "Kowalczyk", "508-555-0163"):
        assert secret not in everything
    assert "[**" not in everything and "___ " not in everything
    assert "pulmonary edema" in everything and "Escherichia coli" in everything
    summary = docs[0].metadata["deid"]
    assert summary["DATE"] >= 8 and summary["NAME"] >= 5 and summary["PHONE"] == 2
    assert all(set(d.metadata["deid"]) <= set(TAGS) for d in docs)
    assert step.stats["deid_documents"].total >= 9 and step.stats["deid_PHI"].total >= 40


def test_non_clinical_documents_untouched(step):
    text = "Dr. Hartwell reported on 03/14/2142 that [**Hospital1 18**] trials recruited ___ patients."
    document = clinical(text, "pubmed:1", category="biomedical")
    out = list(step.run(iter([document])))
    assert out[0].text == text and "deid" not in out[0].metadata


def test_placeholders_only_when_residual_scrub_off():
    step = Deidentifier(scrub_residual=False)
    out = list(step.run(iter([clinical("Dr. Hartwell saw [**Known lastname 1858**] on ___.")])))
    assert out[0].text == "Dr. Hartwell saw [NAME] on [PHI]." and out[0].metadata["deid"] == {"NAME": 1, "PHI": 1}


def test_deterministic(step):
    text = (SAMPLES / "NOTEEVENTS.csv").read_text(encoding="utf-8")
    assert step.deidentify(text) == step.deidentify(text)


def test_no_note_text_in_logs(step, caplog):
    secret = "Quillfeather Zanzibarovich"
    documents = [clinical(f"Dr. {secret} saw the patient on 03/14/2142. Wife {secret} called.")]
    sink = logger.add(lambda message: logging.getLogger("loguru").warning(message), level="DEBUG")
    try:
        with caplog.at_level(logging.DEBUG):
            out = list(step.run(iter(documents)))
    finally:
        logger.remove(sink)
    assert "Quillfeather" not in out[0].text
    assert "Quillfeather" not in caplog.text and "Zanzibarovich" not in caplog.text


@pytest.mark.slow
def test_physionet_gold_standard_token_scores(shared_data, step):
    folder = shared_data / "deid" / "physionet_deid_dev"
    notes, gold = load_gold(folder)
    assert len(notes) == 1624 and sum(len(spans) for spans in gold.values()) == 1243
    boxed = lockbox_patients()
    result = evaluate(folder, step.phi_spans, keep=lambda key: key[0] not in boxed)
    # In-sample: the rules were written from these notes (lock-box left out). Measured: recall 0.9953,
    # precision 0.9130; by type Date 0.998, HCPName 0.997, Location 0.979, the others 1.0. On 810 notes
    # of patients outside the corpus the same rules reached recall 0.920 (issue 16), so this guards
    # against regressions only; it says nothing of how the rules generalise.
    assert result.notes == 1299 and result.recall >= 0.99 and result.precision >= 0.90
    floors = {"Date": 0.99, "HCPName": 0.99, "Location": 0.97, "Phone": 0.99, "RelativeProxyName": 0.99}
    for phi_type, floor in floors.items():
        assert result.recall_by_type[phi_type] >= floor, (phi_type, result.recall_by_type)
