"""Cleaning, language, quality and decontamination steps on real and written text."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document

from medcorpus.curation.clean.cleaner import TextCleaner
from medcorpus.curation.decontam.decontaminator import Decontaminator, ngram_hashes
from medcorpus.curation.language.filter import LanguageFilter
from medcorpus.curation.quality.filter import QualityFilter, text_signals


def doc(text: str, source: str = "pubmed", category: str = "biomedical") -> Document:
    return Document(text=text, id="t:1", metadata={"source": source, "category": category, "license": "x"})


def test_ftfy_real_cases_repaired_as_ftfy_expects(shared_data):
    cases = json.loads((shared_data / "mojibake_boilerplate/mojibake/ftfy_6.3.1/test_cases.json").read_text())
    cleaner = TextCleaner()
    passing = [case for case in cases if case["expect"] == "pass"]
    assert len(passing) > 100
    wrong = [case["label"] for case in passing if cleaner.clean(case["original"]) != cleaner.clean(case["fixed"])]
    assert wrong == []


def test_cleaner_rules():
    cleaner = TextCleaner(remove_urls=True, remove_emails=True)
    text = "Caf\u0065\u0301 &amp; bar\x07  <b>bold</b>\r\n\n\n\nsee https://x.org/a or a@b.org  "
    assert cleaner.clean(text) == "Caf\u00e9 & bar bold\n\nsee or"
    assert cleaner.stats["changed_html_tag"].total == 1


def test_cleaner_excludes_documents_left_empty():
    kept = list(TextCleaner().run([doc("  <br/> \x00 "), doc("text stays")]))
    assert [d.text for d in kept] == ["text stays"]


def test_language_is_deterministic_and_labels_short_text_undetermined():
    step = LanguageFilter(seed=7)
    german = "Die Patienten wurden nach der Operation zwei Wochen lang im Krankenhaus beobachtet und behandelt."
    assert {step.detect(german) for _ in range(5)} == {("de", step.detect(german)[1])}
    assert step.detect("BP 120/80, HR 72")[0] == "und"
    kept = list(step.run([doc(german), doc("The patients were observed in hospital for two weeks after surgery.")]))
    assert [d.metadata["language"] for d in kept] == ["en"]


def test_quality_profiles_differ_by_category():
    terse = "\n".join(["Pt c/o SOB. BP 130/85. HR 92. Sat 94% RA. Plan: CXR, CBC, BMP, trop x2."] * 1) * 1
    note = " ".join([terse] * 8)
    clinical, web = doc(note, "mimic3", "clinical"), doc(note, "general", "general")
    step = QualityFilter()
    assert step.filter(clinical) is True
    assert step.filter(web)[0] is False
    assert text_signals("a b c")["words"] == 3
    with pytest.raises(ValueError, match="unknown thresholds"):
        QualityFilter(profiles={"general": {"min_wordz": 3}})


def test_decontamination_against_real_pubmedqa(shared_data):
    path = shared_data / "benchmarks/pubmedqa/ori_pqal.json"
    first = next(iter(json.loads(path.read_text()).values()))
    step = Decontaminator([str(path)])
    leaked = doc("Some preamble. " + first["CONTEXTS"][0] + " Some closing remarks about the study.")
    clean = doc(" ".join(f"word{i}" for i in range(200)))
    assert step.filter(leaked) == (False, "benchmark_ori_pqal")
    assert step.filter(clean) is True
    assert len(ngram_hashes("one two three", 2)) == 2


def test_fasttext_backend_labels_and_filters_like_langdetect():
    english = "The patient was admitted with chest pain and shortness of breath lasting two days."
    german = "Der Patient wurde mit Brustschmerzen und Atemnot, die zwei Tage anhielten, aufgenommen."
    step = LanguageFilter(backend="fasttext")
    assert step.detect(english)[0] == "en" and step.detect(german)[0] == "de"
    assert step.detect("too short") == ("und", 0.0)
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate((english, german))]
    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["0"] and kept[0].metadata["language_score"] > 0.9
    with pytest.raises(ValueError, match="backend"):
        LanguageFilter(backend="cld3")
