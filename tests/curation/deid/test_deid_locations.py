"""LocationDetector: hospitals, towns, regions and companies are found; clinical shorthand after prepositions is not."""

from __future__ import annotations

import pytest

from medcorpus.curation.deid.locations.detector import LocationDetector
from medcorpus.curation.deid.locations.places import gazetteer, hospital_shape
from medcorpus.curation.deid.names.lexicon import note_case


@pytest.fixture(scope="module")
def detector() -> LocationDetector:
    return LocationDetector()


def tagged(detector: LocationDetector, text: str) -> set[str]:
    """Lower-case words covered by the detector's spans."""
    words: set[str] = set()
    for start, end, _tag in detector.spans(text):
        words.update(w.strip(".,'").lower() for w in text[start:end].split())
    return words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pt was sent from Pellworth Memorial Hospital this evening for cath.", {"pellworth", "memorial"}),
        ("HE WENT TO HOLY CROSS WITH A FEVER AND WAS THEN TRANSFERRED HERE.", {"holy", "cross"}),
        ("Seen at Saint Brigid Medical Center last week; stable since.", {"brigid"}),
        ("Transferred from University of Delaware Hospital for cardiac surgery.", {"university", "of", "delaware"}),
        ("PT PRESENTED TO U OF MD MED CENTER WITH CHEST PAIN.", {"u", "of", "md"}),
        ("pt was screened by annapolis rehab and wexbury rehab today.", {"annapolis", "wexbury"}),
        ("Family drove up from the Eastern Shore overnight.", {"eastern", "shore"}),
        ("She went via ambulance to St. Mary Hospital and got aspirin.", {"st", "mary"}),
        ("Wife is home in Murrysville and will call in the morning.", {"murrysville"}),
        ("SPOKE WITH PT'S SON IN BOYCEVILLE ABOUT THE PLAN.", {"boyceville"}),
        ("Plan: transfer to Westerholm 2 when a bed is available.", {"westerholm"}),
        ("PLAN: TO WESTERHOLM 3 TODAY.", {"westerholm"}),
        ("he works for kestrel health and is worried about missing work.", {"kestrel", "health"}),
        ("Pt was admitted to GH from the ED. Family notified; GH attorneys to call.", {"gh"}),
        ("Nephew from Glen Burnie visited today.", {"glen", "burnie"}),
        ("Lives at 14 Birchmoor Road with his wife.", {"14", "birchmoor", "road"}),
        ("Daughter lives in Welland, MD 21204 and visits daily.", {"welland", "21204"}),
        ("Pt came in from Memorial Hospital late last night.", {"memorial"}),
        ("Was transferred from NJ Hospital after a fall; now stable.", {"nj"}),
        ("She is going for a scan on West Campus tomorrow morning.", {"west"}),
        ("Alert, knows she is in Grand General Hospital and the year.", {"general"}),
        ("HIS WIFE SAYS THAT AT MERCY MEMORIAL HE WAS VERY CONFUSED.", {"mercy", "memorial"}),
        ("HE WAS TAKEN TO MEMORIAL LAST WEEK FOR A FALL.", {"memorial"}),
        ("Pt was first seen at U Virginia ER with chest pain.", {"u", "virginia"}),
        ("PT ADMITTED FROM PITTSBURG REHAB AFTER HIP REPAIR.", {"pittsburg"}),
        ("Came by ambulance from the clinic in Phila this morning.", {"phila"}),
        ('SON ("FROM DENVER") AND DAUGHTER VISITED TODAY.', {"denver"}),
        ("Orientation: I'm in KH, it is spring. Oriented x3.", {"kh"}),
        ("Family wants to wait until the SMH lawyers review the case.", {"smh"}),
        ("wife reports she was seen at kh last year for the same.", {"kh"}),
        ("A/O x3. plan: BRADWELLTON 4 today, pulm toilet.", {"bradwellton"}),
    ],
)
def test_places_found(detector: LocationDetector, text: str, expected: set[str]) -> None:
    assert expected <= tagged(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Changed back to IMV mode, then weaned to CPAP at 5 of PEEP.",
        "DOBUTAMINE STARTED AT 2.5 MCG/KG, TITRATED TO SBP > 90.",
        "Pt in SB to SR with occasional PVCs, on BB at home.",
        "Sent to XRAY for a portable film; NSICU aware.",
        "Lungs with crackles at LLL, sxn for thick secretions from ETT.",
        "TRANSFER TO PCU LATER TODAY IF STABLE.",
        "pt alert and orientedx3, on dopa 5 and levo 2.",
        "CV: SR-ST, Transfused 2 units PRBC. Begin cardiac rehab tomorrow.",
        "Pain at incisional site, medicated with morphine.",
        "Foley in place; 3 way Foley draining clear urine.",
        "Pt has Parkinson disease and a Swan in place; question of Wilson disease.",
        "States alone are kept: pt moved here from Maryland last year.",
        "Daughter flew back from England last night; son lives in Europe.",
        "ORDER WRITTEN TO TRANSFUSE 2 UNITS PRBC.",
        "neo at 200 mcgs, map in the 60s.",
        "Outside Hospital records requested; Cardiac Rehab referral placed.",
    ],
)
def test_clinical_shorthand_kept(detector: LocationDetector, text: str) -> None:
    assert detector.spans(text) == []


def test_tags_and_offsets(detector: LocationDetector) -> None:
    text = "Pt transferred from Pellworth Memorial overnight; son lives in Holdenville."
    spans = sorted(detector.spans(text))
    assert ("Pellworth Memorial", "HOSPITAL") in [(text[s:e], t) for s, e, t in spans]
    assert ("Holdenville", "LOCATION") in [(text[s:e], t) for s, e, t in spans]


def test_abbreviation_needs_evidence(detector: LocationDetector) -> None:
    assert tagged(detector, "PT WAS BROUGHT TO JMH ER AFTER A FALL.") == {"jmh"}
    assert detector.spans("PT WAS ON IMV, NOW AT BL ON NC.") == []


def test_helpers() -> None:
    places = gazetteer()
    assert {"asheville", "palmdale", "glen burnie"} <= places
    assert "germany" not in places  # countries are not PHI
    assert hospital_shape("KVMC") and hospital_shape("GH") and not hospital_shape("IMV")
    assert note_case("Pt is Stable and Alert.") == "mixed" and note_case("PT IS STABLE AND ALERT.") != "mixed"
