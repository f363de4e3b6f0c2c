"""The vectorised langdetect gives langdetect's own answers, on real documents and on edge cases."""

from __future__ import annotations

import random

import pytest
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from medcorpus.curation.langdetect_exact import exact_langdetect
from medcorpus.curation.language import LanguageFilter

EDGE_CASES = [
    "ABC DEF ghi JKL mno",  # runs of capitals take no n-grams
    "  Hello  WORLD  the patient was seen  ",
    "AbC dEF GHi jKL",
    "Der Patient wurde nach der Operation zwei Wochen lang beobachtet.",
    "Le patient a été hospitalisé pour une douleur thoracique aiguë.",
    "患者は胸痛で入院した。検査の結果、心筋梗塞と診断された。",
    "Больной поступил с жалобами на боль в груди и одышку.",
    "Ελληνικό κείμενο για έλεγχο της ανίχνευσης γλώσσας εδώ",
    "Bệnh nhân nhập viện vì đau ngực",  # Vietnamese: composed and decomposed marks
    "Bệnh nhân nhập viện vì đau ngực",
    "see http://example.org/a?b=c and write to someone@example.org about it",
    "Ｆｕｌｌ ｗｉｄｔｈ text with ﬁ ligatures",
    "x",
    "123 456 !!!",
    "a b c d e f g h i j k l m n o p",
    "A",
]


def langdetect_answer(text: str, seed: int) -> tuple[str, float] | None:
    DetectorFactory.seed = seed
    try:
        found = detect_langs(text)
    except LangDetectException:
        return None
    return (found[0].lang, found[0].prob) if found else None


@pytest.mark.parametrize("text", EDGE_CASES)
def test_same_answer_as_langdetect_on_edge_cases(text):
    for seed in (0, 1234):
        assert exact_langdetect().detect(text, seed) == langdetect_answer(text, seed)


def test_same_answer_as_langdetect_on_random_character_soup():
    rng = random.Random(3)
    alphabet = "aAbBeEzZ  .,-1éÉßçØ\u0301\u1ea1\u0430\u0431\u3042\u4e00\n"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        assert exact_langdetect().detect(text, 5) == langdetect_answer(text, 5), repr(text)


@pytest.mark.slow
def test_same_answer_as_langdetect_on_real_documents(shared_data):
    from medcorpus.sources.general import GeneralReader
    from medcorpus.sources.pubmed import PubMedReader

    pubmed = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    web = shared_data / "general" / "dolma_test_data" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    docs = [doc for _, doc in zip(range(300), PubMedReader([str(pubmed)]).run())]
    docs += [doc for _, doc in zip(range(150), GeneralReader([str(web)]).run())]
    languages = set()
    for doc in docs:
        sample = doc.text[:2000]
        found = exact_langdetect().detect(sample, 1234)
        assert found == langdetect_answer(sample, 1234), doc.id
        languages.add(found and found[0])
    assert {"en", "de"} <= languages  # the web file holds German pages as well as English ones


def test_filter_counts_letters_beyond_the_prefix():
    step = LanguageFilter(min_letters=40)
    assert not step.has_letters("1 2 3 " * 200 + "abc")
    assert step.has_letters("- " * 100 + "word " * 10)
    assert not step.has_letters("a" * 39)
