"""Date and number detectors: forms that must be found and clinical numbers that must be left alone."""

from __future__ import annotations

import pytest

from medcorpus.curation.deid.dates import DateDetector
from medcorpus.curation.deid.numbers import NumberDetector

DATES = DateDetector()
NUMBERS = NumberDetector()


def _found(detector, text: str, tag: str) -> list[str]:
    return [text[a:b] for a, b, t in sorted(detector.spans(text)) if t == tag]


def _covered(detector, text: str, target: str, tag: str) -> bool:
    start = text.index(target)
    return any(a <= start and start + len(target) <= b and t == tag for a, b, t in detector.spans(text))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Admitted on 4/17 with chest pain.", "4/17"),
        ("Seen in clinic 11/3/2139 for follow up.", "11/3/2139"),
        ("Last echo 2/14/39 showed EF 30%.", "2/14/39"),
        ("Labs drawn 2141-06-09 at noon.", "2141-06-09"),
        ("Surgery 6-12-41, uneventful.", "6-12-41"),
        ("Was intubated 5/28-6/1 for pneumonia.", "5/28-6/1"),
        ("Cultures from 11/20-11/22. pending.", "11/20-11/22"),
        ("Febrile 10/15-16 then resolved.", "10/15-16"),
        ("Radiation given 11/02/11/05 and again today.", "11/02/11/05"),
        ("Sent to the floor on 6-9 after extubation.", "6-9"),
        ("Pt had diarrhea from 3-5 and then improved.", "3-5"),
        ("He moved to rehab.7/30. Returned 8/2 with fever.", "7/30"),
        ("Transfusion POST 4/4 TX. HCT stable.", "4/4"),
        ("Plans to travel in sept. with family.", "sept"),
        ("Since October she has lost weight.", "October"),
        ("Family meeting set for Nov. 20th, 2140.", "Nov. 20th, 2140"),
        ("Note written 9 Jan 2141 by night RN.", "9 Jan 2141"),
        ("She asked what day it is. Told it's the 14th.", "14th"),
        ("Last seen in the ED on the 22nd, per wife.", "22nd"),
        ("Seen at outside hospital on 12/3 with SOB.", "12/3"),
        ("(10/9 TTE: EF 25%) reviewed by team.", "10/9"),
        ("PMH: HTN, breast CA'97, hypothyroid.", "97"),
    ],
)
def test_dates_found(text: str, target: str) -> None:
    assert _covered(DATES, text, target, "DATE"), target


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("PMH: MI 1999, CABG 2003, AVR.", ["1999", "2003"]),
        ("CVA in 91 and 04, residual L weakness.", ["91", "04"]),
        ("s/p CABG x3 '96, redo '01.", ["96", "01"]),
        ("Quit smoking 1985. Lives alone.", ["1985"]),
        ("Oriented; knows it is 2008.", ["2008"]),
        ("h/o colon cancer, resection 77'.", ["77"]),
        ("MVR 1988, 1994 redo.", ["1988", "1994"]),
        ("Old MVA 83'. No deficits.", ["83"]),
    ],
)
def test_years_found(text: str, years: list[str]) -> None:
    for year in years:
        assert _covered(DATES, text, year, "DATE"), year


@pytest.mark.parametrize(
    "text",
    [
        "Crackles 1/3 up bilaterally, sats 95% on 2L.",
        "Gave 1/2 amp D50 for BS of 52.",
        "IVF D5 1/2 NS with 20 KCL at 100cc/hr.",
        "TF restarted at 1/2 strength, residuals low.",
        "Rales up 2/3 on the right.",
        "Pain 4/10 in the incision, medicated with morphine.",
        "Reports 8/10 CP radiating to the jaw.",
        "Severe 10/10 headache this am.",
        "Strength 4/5 in LUE, 5/5 elsewhere.",
        "Harsh 3/6 systolic murmur at apex.",
        "Pedal pulses 2/4 bilat.",
        "On CPAP/PS 10/5 with 40% FiO2.",
        "Vent: AC 550x14, PEEP 8/5.",
        "Weaned to PS 12/5 this afternoon.",
        "BP 118/64, HR 88, RR 18.",
        "ABG 7.36/42/98 on 50%.",
        "PA pressures 45-52/20-24, CVP 12.",
        "Disc herniation at L4/5 per MRI.",
        "A/O x3, MAE, follows commands.",
        "BP trending 130-150'2/70's overnight.",
        "HOB elevated 30' at all times.",
        "Ambulated 40' with walker and assist of 1.",
        "SBP in the 90's, MAP 60's on levophed.",
        "Pt voiding 450-1000 cc per shift.",
        "Urine output 30-60 cc/hr; neg 1500 for the day.",
        "Given 2000 cc of NS overnight.",
        "Regular insulin 4 units given at 2200.",
        "Heparin at 1100 units/hr, PTT 65.",
        "Pupils 3/3 brisk, gag intact.",
        "Trialed on 5/5 and tolerated well.",
        "Complications with the 1st attempt, the 2nd went well.",
        "Weaned from 4-6 lpm to 2 L NC.",
        "Loose stools since 2-3 days, C diff sent.",
        "Lasix increased from 2-4 mg/hr.",
    ],
)
def test_clinical_numbers_not_dates(text: str) -> None:
    assert _found(DATES, text, "DATE") == []


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Daughter can be reached at (617) 555-0142 any time.", "(617) 555-0142"),
        ("Call wife at 617-555-0199 with updates.", "617-555-0199"),
        ("Son's cell 301 944-5032.", "301 944-5032"),
        ("Brother --- 301 944-5032 & sister aware.", "301 944-5032"),
        ("Wife updated on condition.(617-555-0142) will visit.", "617-555-0142"),
        ("MD to call with update: 410 555 0780 x45.", "45"),
        ("Son visited today.(301 273 45166) both aware.", "301 273 45166"),
        ("Fax results to 410.555.2871 please.", "410.555.2871"),
        ("Home number 2125550187 on file.", "2125550187"),
        ("Resident pager #45678 for questions.", "45678"),
        ("Page covering MD at beeper 4-1234.", "4-1234"),
        ("Call the unit at 555-1234, ext. 8356.", "8356"),
    ],
)
def test_phones_found(text: str, target: str) -> None:
    assert _covered(NUMBERS, text, target, "PHONE"), target


@pytest.mark.parametrize(
    "text",
    [
        "PA pressures 63-70/27-30, CVP 12-14.",
        "Voided 575-1000 cc overnight.",
        "SVR 900-1100 on the neo drip.",
        "Replaced foley with #20fr 3 way catheter.",
        "Peripheral IVs #20 x2 in R arm.",
        "Intubated with #8 ETT, 22 cm at the lip.",
        "Platelets 150-400, WBC 12.1.",
        "Goal SBP 100-140, MAP > 65.",
    ],
)
def test_clinical_numbers_not_phones_or_ids(text: str) -> None:
    assert [t for _, _, t in NUMBERS.spans(text) if t in ("PHONE", "ID")] == []


def test_ids_ages_contacts() -> None:
    text = "MRN: 4417823. Age 93 yo. Email jdoe@example.org, see www.example.org/notes, host 10.2.33.4."
    tags = {text[a:b]: t for a, b, t in NUMBERS.spans(text)}
    assert tags.get("4417823") == "ID"
    assert tags.get("93") == "AGE>89"
    assert tags.get("jdoe@example.org") == "CONTACT"
    assert tags.get("10.2.33.4") == "CONTACT"
    assert "www.example.org/notes" in tags
