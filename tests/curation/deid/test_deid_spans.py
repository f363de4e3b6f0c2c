"""De-identification spans: input offsets, all-caps and lower-case notes, kinship and role cues, eponyms kept."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from medcorpus.curation.deid.deidentifier import Deidentifier, placeholder_spans
from medcorpus.curation.deid.medical_words import EPONYMS


@pytest.fixture(scope="module")
def step() -> Deidentifier:
    return Deidentifier()


def redacted_words(step: Deidentifier, text: str) -> set[str]:
    return {text[start:end] for start, end, _tag in step.phi_spans(text)}


def test_phi_spans_are_input_offsets_and_recorded(step):
    text = "Seen by [**Doctor Last Name 160**] on 03/14/2142. Wife Okonkwo called ___ from Holdenville."
    document = Document(text=text, id="mimic3:7", metadata={"source": "mimic3", "category": "clinical"})
    out = list(step.run(iter([document])))[0]
    spans = out.metadata["phi_spans"]
    assert [text[s:e] for s, e, _t in spans] == [
        "[**Doctor Last Name 160**]", "03/14/2142", "Okonkwo", "___", "Holdenville"
    ]  # fmt: skip
    assert [t for _s, _e, t in spans] == ["NAME", "DATE", "NAME", "PHI", "LOCATION"]
    assert out.text == "Seen by [NAME] on [DATE]. Wife [NAME] called [PHI] from [LOCATION]."
    assert all(isinstance(s, int) and isinstance(e, int) and s < e for s, e, _t in spans)


def test_placeholder_spans_cover_only_placeholders():
    text = "a [**Hospital1 18**] b ___ c ____ d"
    assert placeholder_spans(text) == [(2, 20, "HOSPITAL"), (23, 26, "PHI")]


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        ("PT SEEN BY DR. MARVESTI THIS AM. N. VELKARO AWARE OF K 5.9.", {"MARVESTI", "N", "VELKARO"}),
        ("SOCIAL: SON CHIP VISITED, DAUGHTER CATHLEEN CALLED FROM HOME.", {"CHIP", "CATHLEEN"}),
        ("pt's husband walter in to visit. spoke with dr quillan re plan.", {"walter", "quillan"}),
        ("Report given to Lorna Feeney, RN. Plan discussed with Dr Hartwell.", {"Lorna", "Feeney", "Hartwell"}),
        ("CONTACT DAUGHTER AT 410-555-0187 OR PAGER #40211.", {"410-555-0187", "40211"}),
        ("Pt is a 94 yo man, MI in 1992, CABG '95, seen 3/14 and on Oct 20th.", {"94", "1992", "95", "3/14"}),
        ("Transferred from Landover Memorial to GH on 8/23.", {"Landover", "GH", "8/23"}),
        ("E-mail j.doe@example.org or see www.example.com/portal from 10.0.0.12.", {"j.doe@example.org"}),
    ],
)
def test_residual_phi_in_every_case_style(step, text, secrets):
    found = redacted_words(step, text)
    joined = " ".join(found)
    missing = {secret for secret in secrets if secret not in joined}
    assert not missing, (missing, found)


def test_contact_forms_each_found(step):
    text = "E-mail j.doe@example.org or see www.example.com/portal from 10.0.0.12 today."
    tags = {text[s:e]: t for s, e, t in step.phi_spans(text)}
    assert tags == {"j.doe@example.org": "CONTACT", "www.example.com/portal": "CONTACT", "10.0.0.12": "CONTACT"}


# Sentences written for this test: every capitalised eponym or clinical word must survive.
EPONYM_NOTE = (
    "Foley catheter draining clear urine. Swan-Ganz catheter placed, PCWP 18. History of Parkinson disease "
    "and Alzheimer dementia, remote Hodgkin lymphoma, Crohn disease in remission. Gram stain pending. "
    "Babinski sign negative, Glasgow coma scale 15. Jackson-Pratt drain with serous output. Doppler pulses "
    "present. Trendelenburg position for line placement. Cheyne-Stokes breathing overnight. Graves disease "
    "on methimazole. Mallory-Weiss tear on EGD. Guillain-Barre syndrome ruled out. Holter monitor ordered. "
    "Levophed weaned, Lasix drip at 10 mg/hr, Coumadin held, Tylenol for fever. Braden score 14."
)


def test_eponyms_and_drugs_not_redacted(step):
    assert step.phi_spans(EPONYM_NOTE) == []
    upper = EPONYM_NOTE.upper()
    spans = step.phi_spans(upper)
    assert spans == [], [upper[s:e] for s, e, _ in spans]


def test_eponym_list_over_redaction_rate(step):
    words = sorted(EPONYMS)
    sentences = [f"Noted {word.title()} sign on exam today and documented it." for word in words]
    redacted = sum(1 for sentence in sentences if step.phi_spans(sentence))
    # Measured: 0 of the eponym list is redacted in a neutral sentence.
    assert redacted / len(words) <= 0.02, redacted


def test_titles_still_win_over_eponyms(step):
    assert "Parkinson" in redacted_words(step, "Seen today by Dr. Parkinson from neurology.")
