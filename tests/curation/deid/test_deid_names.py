"""Name detector: names after titles, kinship and role cues, initials, all-caps and lower-case notes are found;
clinical abbreviations, plurals, drugs, eponyms and misspellings are not. All sentences written for these tests."""

from __future__ import annotations

import pytest

from medcorpus.curation.deid.names.detector import NameDetector
from medcorpus.curation.deid.names.lexicon import NameLexicon, note_case

FILLER = " The patient rested overnight with stable vital signs and no new complaints. Lungs clear, abdomen soft."


@pytest.fixture(scope="module")
def detector() -> NameDetector:
    return NameDetector()


def found(detector: NameDetector, text: str) -> set[str]:
    return {text[s:e] for s, e, _t in detector.spans(text)}


def styled(sentence: str) -> str:
    """The sentence plus filler in the sentence's own case style (so the note case is what the test means)."""
    if sentence.isupper():
        return sentence + FILLER.upper()
    if sentence.islower():
        return sentence + FILLER.lower()
    return sentence + FILLER


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        ("Ms. K. Dolan is a 64 yo woman admitted with sepsis.", {"K", "Dolan"}),
        ("Plan discussed with Ms L Haverford this morning.", {"L", "Haverford"}),
        ("pt seen by mr J. Ostrowski this am.", {"J", "Ostrowski"}),
        ("Family: Son, Marcus, and daughter, Ellen, visited after lunch.", {"Marcus", "Ellen"}),
        ("Wife, Rosalind, called for an update.", {"Rosalind"}),
        ("BP LOW. E. BUXTON AWARE. WILL CONT TO MONITOR.", {"E", "BUXTON"}),
        ("Bp low at times. E. BUXTON AWARE. Will cont to monitor.", {"E", "BUXTON"}),
        ("bp soft, lacy vrenik aware, will cont to monitor.", {"lacy", "vrenik"}),
        ("Vrask-Pulley MD performed the procedure at the bedside.", {"Vrask", "Pulley"}),
        ("Seen by J. Yi, MD, who agreed with the plan.", {"J", "Yi"}),
        ("Report given to Blair Delray, R.N. at change of shift.", {"Blair", "Delray"}),
        ("Drs' Branum and Vostrel met with the family.", {"Branum", "Vostrel"}),
        ("they spoke to the resident, dr. o'burnett, who answered questions.", {"o'burnett"}),
        ("SON CHIP VISITED, DAUGHTER CATHLEEN CALLED FROM HOME.", {"CHIP", "CATHLEEN"}),
        ("Niece, Genevieve DOSWELL, is the legal guardian.", {"Genevieve", "DOSWELL"}),
        ("Low pressures overnight per md Zelnik, will recheck.", {"Zelnik"}),
        ("Resp- Vernon Krattig,MD made no vent changes.", {"Vernon", "Krattig"}),
        ("HCT 23 (DR. ISABEL/ DR. JENNINGS AWARE), NO TX ORDERED.", {"ISABEL", "JENNINGS"}),
        ("SHIFT UNEVENTFUL. MARTHA J. KOVAC, RN", {"MARTHA", "J", "KOVAC"}),
        ("Lytes repleted, Dr T Lark in to see pt at noon.", {"T", "Lark"}),
        ("CASE MGMT CALLED. (ROSA IS AWAY THIS WEEK) WILL FOLLOW UP.", {"ROSA"}),
        ("SON CALLED TWICE; HOWARD STATES HIS FATHER WAS TIRED.", {"HOWARD"}),
        ("Family in this pm. Daughter at bedside until 9, supportive to pt, Rory Cyril.", {"Rory"}),
        ("husband in all evening, very attentive, Peter.", {"Peter"}),
        ("pt has two health care proxies: marguerite and vondell", {"marguerite", "vondell"}),
        ("Wife and attorney (Ned Grumbacher) updated on the plan.", {"Ned", "Grumbacher"}),
        ("SPOKE WITH THE FAMILY ABOUT MRS K. PLANS FOR HOME.", {"K"}),
    ],
)
def test_names_found(detector, sentence, names):
    missing = names - found(detector, styled(sentence))
    assert not missing, missing


@pytest.mark.parametrize(
    "sentence",
    [
        "TVs in the 500s, CTs draining serous fluid, BSs present in all quadrants, PIVs x2 patent.",
        "SVR elevated, LLL crackles, RISS per protocol, changed to IMV mode for the night.",
        "Given MgSO4 2 gm and KCl, Ceftaz and Vanco continued, Respalor tube feeds at goal.",
        "PROPOFOL AND ATIVAN GIVEN FOR AGITATION, ALLEGRA PO FOR ITCHING.",
        "Recieved pt from the OR, pearla, good air entry, clear breath sounds.",
        "Foley draining, Swan pulled back, Doppler pulses present, Parkinson disease noted.",
        "sinus brady to the 50s, dp/pt pulses palpable, c/o pain, d/c'd the a-line.",
        "Comfort and support given to the family, questions answered.",
        "Hope is to extubate in the morning. Will is to wean as tolerated.",
        "LINE IS SECURED AND FLUSHES WELL. ART LINE DOES NOT WEDGE.",
    ],
)
def test_clinical_words_not_found(detector, sentence):
    for text in (styled(sentence), styled(sentence.upper()), styled(sentence.lower())):
        assert found(detector, text) == set(), found(detector, text)


def test_single_letters_only_as_initials(detector):
    text = styled("Pt's I/O even. A: stable. s/p CABG, C diff negative, d/c planned.")
    assert found(detector, text) == set()
    assert found(detector, styled("Plan reviewed with N. Velkaro today.")) == {"N", "Velkaro"}


def test_token_touching_digits_is_whole(detector):
    assert found(detector, styled("Replete with MgSO4 and K-Phos, SpO2 98% on 2L.")) == set()


def test_misspelling_detection():
    lex = NameLexicon()
    assert lex.misspelt("recieved") and lex.misspelt("tremoulous")
    assert not lex.misspelt("Velkaro")


def test_note_case():
    assert note_case("PT RESTING COMFORTABLY. VSS.") == "upper"
    assert note_case("pt resting comfortably. vss.") == "lower"
    assert note_case("Pt resting comfortably. VSS stable overnight.") == "mixed"
