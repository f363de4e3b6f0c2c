"""Quality filter: profiles per source and category, the Gopher/FineWeb rules, rates on the real samples."""

from __future__ import annotations

import csv
import re
from collections import Counter

import numpy as np
import pytest
from datatrove.data import Document
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_duplicates

from medcorpus.curation.quality import counts as quality_counts
from medcorpus.curation.quality.counts import BULLETS, ELLIPSES, NON_ALPHA_WORD, SPACES, STOP_WORD, TERMINALS
from medcorpus.curation.quality.filter import (
    DEFAULT_PROFILE,
    QualityFilter,
    _parts,
    batch_signals,
    merge_profiles,
    text_signals,
)
from medcorpus.curation.quality.ngrams import DUP_NGRAMS, DUP_STOP, TOP_NGRAMS, _group
from medcorpus.run.config import CurationConfig
from medcorpus.run.stages import curation_filter, curation_params
from medcorpus.sources.general import GeneralReader

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
    from medcorpus.sources.pubmed.reader import PubMedReader

    pages = list(GuidelineReader([str(shared_data / "guidelines/html")], site="ngc").run())
    assert _removal_rate(pages)[0] == 0
    assert _removal_rate(pages, "general")[0] > 0  # web-text repetition limits would drop guideline pages
    abstracts = list(PubMedReader([str(shared_data / "pubmed/pubmed20n0014.xml.gz")], limit=3000).run())
    assert _removal_rate(abstracts)[0] < 0.02  # measured 0.8% on the whole file
    web = [d for d in GeneralReader([str(shared_data / "general/dolma_test_data")]).run() if len(d.text) > 0]
    rate, reasons = _removal_rate(web)
    assert 0.2 < rate < 0.8 and {"too_few_words", "unpunctuated_lines"} <= set(reasons)


def _top_ngram_chars(words: list[str], n: int) -> int:
    counts = Counter(zip(*(words[i:] for i in range(n))))
    gram, count = counts.most_common(1)[0]  # the first seen among equal counts
    return (sum(map(len, gram)) + n - 1) * count if count > 1 else 0


def _plain_signals(text: str) -> dict[str, float]:
    """The signals computed word by word and line by line in plain Python (the reference of the batches)."""
    words = text.split()
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    n_words, n_lines, chars = max(len(words), 1), max(len(lines), 1), max(len(text), 1)
    duplicate_lines, duplicate_chars = find_duplicates(lines)
    top = max((_top_ngram_chars(words, n) / chars / scale for n, scale in TOP_NGRAMS if len(words) >= n), default=0)
    dup = 0.0
    for n, scale in DUP_NGRAMS:
        ratio = find_all_duplicate(words, n) / chars
        dup = max(dup, ratio / scale)
        if ratio <= DUP_STOP:
            break
    return {
        "words": len(words),
        "mean_word_length": sum(map(len, words)) / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "non_alpha_word_ratio": len(NON_ALPHA_WORD.findall(text)) / n_words,
        "stop_words": len(STOP_WORD.findall(text)),
        "bullet_line_ratio": sum(line.startswith(BULLETS) for line in lines) / n_lines,
        "ellipsis_line_ratio": sum(line.endswith(ELLIPSES) for line in lines) / n_lines,
        "punctuated_line_ratio": sum(line.endswith(TERMINALS) for line in lines) / n_lines,
        "duplicate_line_ratio": duplicate_lines / n_lines,
        "duplicate_line_char_ratio": duplicate_chars / max(sum(map(len, lines)), 1),
        "top_ngram_excess": top,
        "dup_ngram_excess": dup,
    }


def _as_lists(signals: dict[str, np.ndarray]) -> list[dict]:
    return [dict(zip(signals, values)) for values in zip(*(v.tolist() for v in signals.values()))]


TRICKY = [
    "",
    "one",
    "a b",
    "the the the the the the the the the the the",
    "x y x y z x y z w x y z w v x y z w v u " * 3,
    "alpha beta gamma delta epsilon zeta eta theta alpha beta gamma delta epsilon zeta eta iota " * 2,
    "long words x y q x y long words",  # equal top counts: the first seen n-gram is the top one
    "12 34 -- ... The, of; IN: Was. ſo the\u00a0and é_1 ² " * 4,
    prose(12) + " " + " ".join(PROSE[2:6]),
    " ".join([SENTENCE.format(t) for t in TOPICS] * 3),
    "a\x00 \x00 a \x00\x00 \x00 ab abc ab a\x00",  # NUL bytes hash apart from missing ones
    "ſo İs The. ;the; KELVIN K in\u212a 3² é_1 __ ... ;:.",  # Unicode case folding in the stop-word rule
    "• item one\n· item two …\n» item\u2003three ...\n– four?\n  \u2003• item one  \n\n”x”\n’y’",
    "".join(f"w{i}{space}" for i, space in enumerate(SPACES + "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")) * 2,
    "\ud800x \ud800x \udfff \ud800x \ud800x \udfff",  # lone surrogates
]


def test_spaces_are_the_unicode_whitespace_of_str_split():
    assert sorted(SPACES) == [c for c in map(chr, range(128, 0x110000)) if c.isspace()]


def test_batched_signals_equal_plain_python():
    expected = [_plain_signals(t) for t in TRICKY]
    assert [text_signals(t) for t in TRICKY] == expected
    assert _as_lists(batch_signals(TRICKY * 2)) == expected * 2
    cheap = _as_lists(batch_signals(TRICKY, np.arange(len(TRICKY)) % 2 == 0))
    assert [c["top_ngram_excess"] for c in cheap[1::2]] == [0] * (len(TRICKY) // 2)
    assert cheap[::2] == expected[::2]
    assert text_signals(TRICKY[6])["top_ngram_excess"] == 10 * 2 / len(TRICKY[6])  # "long words", not "x y"
    assert text_signals(prose(12))["dup_ngram_excess"] == 0.0


def test_filter_skips_ngrams_only_where_a_cheap_rule_fails_first():
    texts = [prose(12), " ".join([SENTENCE.format("statins")] * 12), "too short", TRICKY[8]]
    step = QualityFilter()
    limits = [step.profiles["general"]] * len(texts)
    verdicts = [step.judge(t, lim) for t, lim in zip(texts, limits)]
    assert verdicts[:3] == [None, ("top_ngram", verdicts[1][1]), ("too_few_words", 2)]
    assert step.judge_all(texts, limits) == verdicts
    docs = [doc(t, "general", "general") for t in texts]
    assert [d.id for d in step.run(iter(docs))] == [docs[0].id]
    assert [d.metadata.get("quality_value") for d in docs[1:]] == [
        round(verdicts[1][1], 4),
        2,
        round(verdicts[3][1], 4),
    ]


def test_real_texts_batched_equal_plain_python(shared_data):
    text = (shared_data / "deid/physionet_deid_dev/id.text").read_text(encoding="latin-1")
    notes = re.findall(r"RECORD=[^\n]*\n(.*?)\|\|\|\|END_OF_RECORD", text, re.S)[:400]
    web = [d.text for d in GeneralReader([str(shared_data / "general/dolma_test_data")], limit=200).run()]
    texts = notes + web
    assert _as_lists(batch_signals(texts)) == [_plain_signals(t) for t in texts]


def test_power_tables_past_the_cache_give_the_same_signals(monkeypatch):
    expected = _as_lists(batch_signals(TRICKY))
    monkeypatch.setattr(quality_counts, "_CACHED", 8)
    monkeypatch.setattr(quality_counts, "_powers", (np.ones(1, np.uint64), np.ones(1, np.uint64)))
    assert _as_lists(batch_signals(TRICKY)) == expected


def test_ngram_grouping_without_room_to_pack_keys_and_positions():
    positions = np.arange(6, dtype=np.int64)
    doc = np.array([0, 0, 0, 1, 1, 1])
    small = np.array([5, 3, 5, 5, 3, 3], np.int64)
    packed = _group(small, positions, doc)
    for result in (packed, _group(small << 60, positions, doc)):  # the second is too wide to pack: argsort
        assert [r.tolist() for r in result] == [[1, 4, 5, 0, 2, 3], [0, 1, 1, 2, 2, 3], [1, 2, 2, 2, 2, 1]]


def test_filter_batch_equals_filter_one_by_one():
    texts = [prose(12), " ".join([SENTENCE.format("statins")] * 12), "too short", TRICKY[8], TRICKY[12]]
    sources = [("general", "general"), ("pmc", "biomedical"), ("mimic4", "clinical")]
    docs = [doc(t, *src) for t in texts for src in sources]
    step = QualityFilter(batch_size=4)
    assert step.batch_size == 4 and not hasattr(step, "_verdicts")
    single = [QualityFilter().filter(doc(d.text, d.metadata["source"], d.metadata["category"])) for d in docs]
    assert step.filter_batch(docs) == single
    assert [d.id for d in step.run(iter(docs))] == [d.id for d, s in zip(docs, single) if s is True]
    assert step.stats["profile_general"].total == 2 * len(texts)  # filter_batch, then run


def test_parts_bound_the_characters_of_a_numpy_batch():
    texts = ["a" * 5, "b" * 5, "c" * 20, "d"]
    assert _parts(texts, 10) == [slice(0, 2), slice(2, 3), slice(3, 4)]
    assert _parts([], 10) == [slice(0, 0)]
