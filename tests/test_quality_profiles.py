"""Quality filter: profiles per source and category, the Gopher/FineWeb rules, rates on the real samples."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
from datatrove.data import Document

from medcorpus.config import CurationConfig
from medcorpus.curation.quality import DEFAULT_PROFILE, QualityFilter, merge_profiles, text_signals
from medcorpus.stages import curation_filter, curation_params

SENTENCE = "The committee reviewed the evidence on {} and agreed that the benefit of treatment was clear."
TOPICS = "statins aspirin exercise diet smoking alcohol sleep weight vaccines screening".split()
PROSE = [
    "Hypertension affects roughly one in three adults and often goes unnoticed for years.",
    "Home blood pressure readings taken over a week predict outcomes better than a single clinic value.",
    "Lifestyle changes such as less salt, regular walking and moderate drinking lower pressure modestly.",
    "When medicines are needed, a thiazide, an ACE inhibitor or a calcium channel blocker is a usual start.",
    "Older patients may feel dizzy on standing, so doses are raised slowly and reviewed at each visit.",
    "Kidney function and potassium should be checked within a month of starting most of these drugs.",
    "Pregnant women need different choices because several common agents can harm the fetus.",
    "Follow-up intervals depend on how far the readings are from target and on other risks.",
    "Shared decisions, written plans and pharmacist support all improve adherence in trials.",
    "Resistant hypertension warrants a search for secondary causes such as aldosterone excess.",
    "Sleep apnoea is common in this group and its treatment can bring pressures down a little.",
    "Audits of primary care records show that many patients never reach the recommended levels.",
]


def doc(text: str, source: str, category: str) -> Document:
    return Document(text=text, id=f"{source}:1", metadata={"source": source, "category": category, "license": "x"})


def prose(n: int = 10) -> str:
    return " ".join(PROSE[:n])


def test_profile_chosen_by_source_then_category_then_default():
    step = QualityFilter(profiles={"pubmed": {"min_words": 5}, "clinical": {"min_words": 3}})
    assert step.profile_name(doc("x", "pubmed", "biomedical")) == "pubmed"
    assert step.profile_name(doc("x", "pmc", "biomedical")) == "biomedical"
    assert step.profile_name(doc("x", "mimic4", "clinical")) == "clinical"
    assert step.profile_name(doc("x", "books", "other")) == "default"
    assert step.profiles["clinical"]["min_words"] == 3
    assert step.profiles["clinical"]["min_stop_words"] is None  # shipped values stay where not overridden
    assert set(merge_profiles(None)["general"]) == set(DEFAULT_PROFILE)
    with pytest.raises(ValueError, match="unknown thresholds"):
        QualityFilter(profiles={"pmc": {"max_bullets": 0.5}})


def test_config_profiles_reach_the_filter():
    curation = CurationConfig.model_validate({"quality": {"profiles": {"general": {"min_words": 7}}}})
    step = curation_filter("quality", curation_params(curation, "quality"), 0, None)
    assert isinstance(step, QualityFilter) and step.profiles["general"]["min_words"] == 7


def test_list_heavy_guideline_kept_but_not_as_web_text():
    text = "\n".join(f"- {sentence}" for sentence in PROSE)
    assert text_signals(text)["bullet_line_ratio"] == 1.0
    assert QualityFilter().filter(doc(text, "guidelines", "biomedical")) is True
    web = doc(text, "general", "general")
    assert QualityFilter().filter(web) == (False, "quality_bullet_lines")
    assert web.metadata["quality_profile"] == "general" and web.metadata["quality_value"] == 1.0


def test_unpunctuated_lines_remove_menus_from_web_text_only():
    menu = "\n".join(f"{topic.title()} news and reviews" for topic in TOPICS)
    text = f"{prose(3)}\n{menu}\n{menu.replace('news', 'guides')}"
    assert text_signals(text)["punctuated_line_ratio"] < 0.12
    assert QualityFilter().filter(doc(text, "general", "general")) == (False, "quality_unpunctuated_lines")
    assert QualityFilter().filter(doc(text, "pmc", "biomedical")) is True


def test_repetition_rules():
    assert QualityFilter().filter(doc(prose(12), "general", "general")) is True
    repeated = " ".join([SENTENCE.format("statins")] * 12)
    assert QualityFilter().filter(doc(repeated, "general", "general")) == (False, "quality_top_ngram")
    copied = prose(12) + " " + " ".join(PROSE[2:6])  # a third of the text pasted twice
    assert QualityFilter().filter(doc(copied, "general", "general")) == (False, "quality_duplicate_ngrams")
    # the most frequent n-gram counts only when it occurs twice: a short text has no "top n-gram" share
    assert text_signals("Heart size normal. Lungs clear. No edema.")["top_ngram_excess"] == 0
    lines = "\n".join([SENTENCE.format("statins")] * 4 + [SENTENCE.format(t) for t in TOPICS[:4]])
    assert QualityFilter().filter(doc(lines, "pmc", "biomedical")) == (False, "quality_duplicate_lines")


def test_terse_clinical_note_kept_only_by_the_clinical_profile():
    note = (
        "CXR: no acute process.\nBP 132/84, HR 88, RR 18, SpO2 96% RA.\nPlan: cont abx, f/u cx, PT eval, "
        "d/c planning w/ SW.\nPt ambulating w/ assist x1, tol PO, pain 2/10 on PO APAP."
    )
    assert QualityFilter().filter(doc(note, "mimic4", "clinical")) is True
    assert QualityFilter().filter(doc(note, "general", "general"))[0] is False


def _removal_rate(docs: list[Document], profile: str | None = None) -> tuple[float, Counter]:
    step = QualityFilter()
    reasons = Counter()
    for d in docs:
        failed = step.judge(d.text, step.profiles[profile] if profile else step.profile_for(d))
        if failed:
            reasons[failed[0]] += 1
    return sum(reasons.values()) / len(docs), reasons


def test_real_clinical_text_mostly_kept(shared_data):
    text = (shared_data / "deid/physionet_deid_dev/id.text").read_text(encoding="latin-1")
    notes = [doc(n, "mimic3", "clinical") for n in re.findall(r"RECORD=[^\n]*\n(.*?)\|\|\|\|END_OF_RECORD", text, re.S)]
    with open(shared_data / "mimic/lookalikes/iu_xray_openi/indiana_reports.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:1500]
    reports = [doc(f"FINDINGS: {r['findings']}\nIMPRESSION: {r['impression']}", "mimiccxr", "clinical") for r in rows]
    for docs in (notes, reports):
        rate, _ = _removal_rate(docs)
        web_rate, web_reasons = _removal_rate(docs, "general")
        assert rate < 0.03, rate  # measured: 1.0% of notes, 0.8% of reports (too short)
        assert web_rate > 0.2 and web_reasons.most_common(1)[0][0] == "too_few_words"


@pytest.mark.slow
def test_real_samples_removal_rates(shared_data):
    from medcorpus.sources.general import GeneralReader
    from medcorpus.sources.guidelines import GuidelineReader
    from medcorpus.sources.pubmed import PubMedReader

    pages = list(GuidelineReader([str(shared_data / "guidelines/html")], site="ngc").run())
    assert _removal_rate(pages)[0] == 0
    assert _removal_rate(pages, "general")[0] > 0  # web-text repetition limits would drop guideline pages
    abstracts = list(PubMedReader([str(shared_data / "pubmed/pubmed20n0014.xml.gz")], limit=3000).run())
    assert _removal_rate(abstracts)[0] < 0.02  # measured 0.8% on the whole file
    web = [d for d in GeneralReader([str(shared_data / "general/dolma_test_data")]).run() if len(d.text) > 0]
    rate, reasons = _removal_rate(web)
    assert 0.2 < rate < 0.8 and {"too_few_words", "unpunctuated_lines"} <= set(reasons)
