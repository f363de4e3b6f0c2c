"""Word lists that tell names and places from ordinary words in clinical notes (for PhiDetector)."""

from __future__ import annotations

import re
from pathlib import Path

import textblob

_CLINICAL_WORDS = """
dr drs mr mrs ms in-law carevue careview flowsheet metavision aware notified called paged informed updated
visited visit visiting phoned spoke speak spoken talked met meet
present bedside in out at to and or with w of on for by from re regarding about team service resident intern
attending fellow staff nurse nsg rn md np pa rrt sw cm pt pts patient patients family pcp primary covering
oncall on-call house housestaff ho consult consulted consulting surgery surgical medicine micu sicu ccu csru
ctic icu nicu pacu er ew ed or ir cath lab ct mri cxr ekg ecg echo tee eeg us ultrasound xray x-ray floor
unit bed chair room home rehab hospital hosp clinic osh outside local community another other previous prior
same this that these those here there today tonight tomorrow yesterday now am pm noc night day evening
morning afternoon shift hrs hr hours min minutes days weeks months yrs years ago since until per via plan
plans planned planning following follow followed needs need wants wanted would will may might can could
should must did does do done has have had having is was were be been being are who which when where what
while if then than also still again stable unstable alert oriented awake asleep sedated intubated extubated
vented ventilated lethargic confused agitated calm comfortable pain afebrile febrile tachy brady hypotensive
hypertensive cont continue continues continued given started stopped increased decreased weaned titrated held
placed removed changed inserted pulled seen evaluated examined assessed eval assessment exam repeat recheck
check checked mg mcg ml cc units u gm kg mmhg l lpm nc nrb fio fio2 peep cpap bipap abg vbg hct hgb wbc plt
inr ptt bun cr k na ca po iv im sc sq prn q qd bid tid qid qhs ng ngt ogt peg ett trach line aline a-line
picc cvl tlc iabp insulin morphine propofol fentanyl dopamine neo vancomycin aspirin nitro bp sbp map cvp pap
pcwp ci co svr rr sat sats spo2 sao2 pao2 temp t tmax wt ht uo u/o i/o bs ls abd gi gu cv neuro resp id heme
skin social soc coping psych dispo code dnr dni full cmo comfort npo diet tube feeds sputum secretions suction
suctioned cough lungs breath breathing clear coarse crackles rhonchi rales wheezes diminished edema stool urine
output drainage dressing dsg incision wound site sites vss afib nsr st sb svt vt vf pvc pvcs pac pacs lbbb
rbbb mi ami cad chf copd htn dm cabg avr mvr ptca pci stent sob cp doe pnd ams ms mae perrl perrla pearl
pearla gcs moves follows commands responds opens eyes nods mouths words speech brother sister wife husband son
daughter dtr mother father friend family members proxy hcp aunt uncle niece nephew cousin spouse partner
children kids grandson granddaughter grandaughter amt neg occ endo ivf neb nebs reg exp los cta cts mag alt
sec tvs esp drg cpr asa lsc cms raf ems ica trans lac gerd ssi rbc cbc cri quad adv oxy pulm abs fhp wo bbb
loc csf arf aaa crt vip overnite nite tol gtt gtts ns lr d5w kub lue rue lle rle rlq ruq llq luq ota ps psv
simv imv ac sr cx bb av ep rca lad lcx lima svg rij lij bsd lcs lws mn uop tpn cdiff c-diff mod lg sm rt
""".split()

# Eponyms of devices, signs and diseases, common drug names, calendar words: capitalised, yet not PHI.
_NOT_NAMES = """
foley hickman quinton swan ganz groshong portex shiley jackson pratt jp pleurovac pigtail dobhoff corpak salem
trendelenburg babinski homan homans cheyne stokes kussmaul kerley tenckhoff blakemore sengstaken nissen whipple
roux hartmann mallory weiss hodgkin hodgkins parkinson parkinsons alzheimer alzheimers crohn crohns graves
addison cushing wolff guillain barre bell bells doppler holter gram cordis coumadin tylenol lasix ativan
haldol levophed vanco zosyn flagyl heparin kcl ntg lopressor captopril plavix milrinone dobutamine valium
zantac cardizem tegretol vasotec diprivan allegra esmolol amiodarone lido lidocaine destin venti
monday tuesday wednesday thursday friday saturday sunday january february march april june july august
september october november december christmas easter thanksgiving english spanish russian cantonese
italian french german polish chinese portuguese greek haitian creole
""".split()


def _word_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(function words, common words, plain nouns, proper nouns): sklearn's stop words and our clinical words;
    those plus Faker's lorem words and TextBlob's lexicon (lower-case entries); the lexicon's lower-case entries
    tagged only NN; and its capitalised entries tagged NNP first."""
    from faker.providers.lorem.en_US import Provider as Lorem
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    function = (set(ENGLISH_STOP_WORDS) - {"bill", "fire", "mill"}) | set(_CLINICAL_WORDS)
    common = function | {w.lower() for w in Lorem.word_list}
    proper: set[str] = set()
    nouns: set[str] = set()
    lexicon = Path(textblob.__file__).parent / "en" / "en-lexicon.txt"
    for line in lexicon.read_text(encoding="utf-8").splitlines():
        word, _, tags = line.partition(" ")
        if not word.isalpha() or line.startswith(";;;"):
            continue
        if word[0].islower():
            common.add(word)
            if tags.split() == ["NN"]:
                nouns.add(word)
        elif tags.split()[:1] == ["NNP"]:
            proper.add(word.lower())
    return frozenset(function), frozenset(common), frozenset(nouns), frozenset(proper - common)


def _name_lists(locales: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased, accent-folded (first names, last names) of Faker's person providers for `locales`."""
    import importlib
    import unicodedata

    first: set[str] = set()
    last: set[str] = set()
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female", "last_names"):
            for name in getattr(provider, attribute, ()) or ():
                folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
                if re.fullmatch(r"[a-z][a-z'\-]+", folded):
                    (last if attribute == "last_names" else first).add(folded)
    return frozenset(first), frozenset(last)
