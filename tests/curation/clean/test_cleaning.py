"""Cleaning: ftfy's own real cases, citation remnants, frequency-found boilerplate, per-rule counts."""

from __future__ import annotations

import json
import random
import re

import ftfy
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from ftfy.badness import BADNESS_RE, is_bad

from medcorpus.curation.clean import citation_remnants, mojibake
from medcorpus.curation.clean.boilerplate import BoilerplateCounter, BoilerplateFinder, BoilerplateRemover, line_key
from medcorpus.curation.clean.citation_remnants import remove_citation_remnants
from medcorpus.curation.clean.cleaner import TextCleaner, normalise_whitespace
from medcorpus.curation.clean.mojibake import fix_mojibake
from medcorpus.io.step_stats import read_step_counts
from medcorpus.run.config import CleanConfig, ConfigError, CurationConfig, SourceConfig
from medcorpus.run.context import StageContext
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import curation_params, curation_stage, source_stage


def doc(text: str, source: str = "guidelines", n: int = 0) -> Document:
    return Document(text=text, id=f"{source}:{n}", metadata={"source": source, "category": "biomedical"})


@pytest.fixture(scope="module")
def ftfy_cases(shared_data) -> list[dict]:
    return json.loads((shared_data / "mojibake_boilerplate/mojibake/ftfy_6.3.1/test_cases.json").read_text())


def test_ftfy_cases_expected_to_pass_are_repaired(ftfy_cases):
    cleaner = TextCleaner()
    passing = [case for case in ftfy_cases if case["expect"] == "pass"]
    assert len(passing) == 151
    for case in passing:
        # ftfy's expectation: fix_text gives "fixed", also through one more layer of UTF-8/Latin-1 mojibake
        assert cleaner.repair(case["original"]) == case["fixed"], case["label"]
        extra_bad = case["original"].encode("utf-8").decode("latin-1")
        assert cleaner.clean(extra_bad) == cleaner.clean(case["fixed"]), case["label"]


def test_ftfy_cases_expected_to_fail_stay_as_ftfy_leaves_them(ftfy_cases):
    cleaner = TextCleaner()
    failing = [case for case in ftfy_cases if case["expect"] == "fail"]
    assert len(failing) == 10
    for case in failing:
        # ftfy marks these as beyond its encoding repair (a strict xfail upstream): the cleaner neither
        # claims them fixed nor does anything else to them than ftfy's own fix_text does.
        assert ftfy.fix_encoding(case["original"]) != case.get("fixed-encoding", case["fixed"]), case["label"]
        assert cleaner.repair(case["original"]) == ftfy.fix_text(case["original"]), case["label"]


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Risk factors [1, 2], however, differ.", "Risk factors, however, differ.", "bracket_numbers"),
        ("as in earlier work [3-5].", "as in earlier work.", "bracket_numbers"),
        ("common in diabetes\u00b9\u00b2. Next", "common in diabetes. Next", "superscript"),
        ("common in diabetes.\u00b2,\u00b3 Next", "common in diabetes. Next", "superscript"),
        ("shown by Smith et al., ).", "shown by Smith et al.).", "et_al"),
        ("markers ( , ) were removed [ ] here", "markers were removed here", "empty_brackets"),
    ],
)
def test_citation_remnants_removed(text, expected, kind):
    assert remove_citation_remnants(text) == (expected, {kind: 1} if kind != "empty_brackets" else {kind: 2})


@pytest.mark.parametrize(
    "text",
    [
        "The dose was 5 mg (0.5-1) daily.",
        "OR 1.2 (95% CI 1.1-1.3).",
        "Mortality was higher (p = 0.03).",
        "Tumours of grade (1-3).",
        "Area 3 m\u00b2 and platelets 150 x 10\u2079/L.",
        "The set x = [1, 2] is closed.",
        "[3H]thymidine and [12]-labelled",
        "Call getStatus() or int[] data.",
        "Cirrhosis (38), portal fibrosis (14), cholangitis (22), metastases (11) and other diagnoses (16).",
        "Answers: never (0), hardly ever (1), sometimes (2), often (3), very often (4).",
    ],
)
def test_citation_remnants_keep_values(text):
    assert remove_citation_remnants(text) == (text, {})


def test_parenthesised_citations_removed_where_the_document_numbers_that_way():
    cited = " ".join(f"Finding number {i} was reported by others ({i})." for i in range(1, 8))
    text, counts = remove_citation_remnants(cited)
    assert "(" not in text and counts == {"paren_numbers": 7}
    assert text.startswith("Finding number 1 was reported by others. Finding")


def test_citation_remnants_on_real_pmc_touch_no_values(shared_data):
    from medcorpus.sources.pmc.reader import PMCReader

    changed = []
    for document in PMCReader([str(shared_data / "pmc_oa")]).run():
        text, counts = remove_citation_remnants(document.text)
        if counts:
            changed.append((document.id, dict(counts)))
    # the PMC reader removes its own citations: what is left over is rare (measured: none of 38 articles)
    assert len(changed) <= 2, changed


def test_line_key_normalises_and_skips_headings_and_short_lines():
    assert line_key("Page 3 of 12 - Printed from the site") == line_key("page 4  of 10 - printed FROM the site")
    assert line_key("## Areas of Agreement and Difference") is None
    assert line_key("Materials and methods") is None
    assert line_key("Skip to main content") is not None


def test_boilerplate_found_by_frequency_and_removed(tmp_path):
    footer = "Copyright 2018 The Example Guideline Site. All rights reserved."
    body = "Adults with hypertension should be offered {} lifestyle advice before any medicine."
    words = ["dietary", "exercise", "sleep", "alcohol", "smoking", "weight"]
    docs = [doc(f"{body.format(words[i])}\n{footer}") for i in range(6)] + [doc(f"{footer}\nOnly a footer", "other")]
    docs.append(doc(f"{footer}\nMenu\n{footer}"))  # nothing but boilerplate: left whole (dedup/quality judge it)
    counter = BoilerplateCounter(str(tmp_path / "counts"), max_lines=1000)
    assert len(list(counter.run(iter(docs[:3]), rank=0))) == 3
    list(counter.run(iter(docs[3:]), rank=1))
    list(BoilerplateFinder(str(tmp_path / "counts"), str(tmp_path / "lines"), min_documents=5).run(None))
    report = json.loads((tmp_path / "lines" / "boilerplate.json").read_text())
    assert report["guidelines"] == {"documents": 7, "index": 0, "lines": 1, "threshold": 5}
    assert report["other"]["lines"] == 0  # one document: below min_documents, nothing is boilerplate
    remover = BoilerplateRemover(str(tmp_path / "lines"))
    kept = list(remover.run(iter(docs)))
    assert [d.text for d in kept[:6]] == [body.format(word) for word in words]
    assert footer in kept[6].text and kept[7].text == docs[7].text
    assert remover.stats["boilerplate_lines_removed"].total == 6
    assert remover.stats["boilerplate_kept_whole"].total == 1


def test_boilerplate_counter_memory_is_capped(tmp_path):
    letters = ["".join(chr(97 + int(c)) for c in str(i)) for i in range(3000)]  # digits would normalise alike
    docs = [doc(f"A line unique to document {w}.\nThe shared footer of every page here.") for w in letters]
    counter = BoilerplateCounter(str(tmp_path / "c"), max_lines=1000)
    list(counter.run(iter(docs)))
    meta = json.loads((tmp_path / "c" / "00000.json").read_text())["guidelines"]
    assert meta["undercount"] == 1 and meta["documents"] == 3000
    import numpy as np

    with np.load(tmp_path / "c" / "00000.npz") as arrays:
        assert len(arrays["h0"]) <= 1000
        assert arrays["c0"].max() == 3000  # the frequent line survives pruning with its full count


def test_clean_config_boilerplate_option():
    config = CurationConfig.model_validate({"clean": {"boilerplate": {"min_documents": 3}}})
    assert curation_params(config, "clean")["boilerplate"]["min_fraction"] == 0.01
    with pytest.raises(ValueError):
        CleanConfig.model_validate({"boilerplate": {"min_docs": 3}})
    assert issubclass(ConfigError, ValueError)


@pytest.mark.slow
def test_clean_stage_on_real_guideline_pages_counts_every_rule(shared_data, tmp_path):
    pages = shared_data / "guidelines/html/ngc_guideline_gov_2018"
    sources = {"ngc": SourceConfig(type="guidelines", inputs=[str(pages)], options={"site": "ngc"})}
    read = source_stage(sources, StageContext(str(tmp_path / "src"), "parquet", 2))
    params = CleanConfig(boilerplate={"min_documents": 5}).model_dump()
    stage = curation_stage(
        "clean", params, [str(tmp_path / "src")], StageContext(str(tmp_path / "clean"), "parquet", 2), 1
    )
    assert [tasks for _, tasks in stage.pipelines] == [2, 1, 2]
    run_stages([read, stage], "local", 2)
    texts = [row["text"] for path in sorted((tmp_path / "clean").glob("guidelines/*.parquet"))
             for row in pq.read_table(path).to_pylist()]  # fmt: skip
    assert len(texts) == 17
    template = "Click on the links below for details of guideline development methodology"
    assert not any(template in text for text in texts)
    assert all("## Areas of Agreement" in text for text in texts)  # shared headings are kept
    counts = read_step_counts(tmp_path / "clean")
    assert counts["boilerplate remover"]["boilerplate_lines_removed"] > 17
    assert counts["boilerplate finder"]["boilerplate_line_kinds"] > 0
    assert counts["text cleaner"]["total"] == 17
    assert {"changed_whitespace", "changed_ftfy"} <= set(counts["text cleaner"])


def _old_whitespace(text: str) -> str:
    """The per-line whitespace rule as first written (the reference for `normalise_whitespace`)."""
    spaces = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
    lines = [spaces.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def test_whitespace_regexes_match_the_per_line_rule():
    pieces = ["a", "b c", " ", "  ", "\t", "\n", "\n\n\n", "\u00a0", "\u1680", "\u2003", "\x0c", "\r", "\u2028",
              "\x85", "\u3000", "\x1c", "é", " x "]  # fmt: skip
    rng = random.Random(3)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert normalise_whitespace(text) == _old_whitespace(text), ascii(text)
    assert normalise_whitespace("a\u1680b \u1680\nc") == "a\u1680b\nc"  # an inner ogham space stays


def _ftfy(text: str) -> str:
    return ftfy.fix_text(text, normalization=None)


def test_badness_hint_is_derived_and_finds_every_bad_pair():
    assert mojibake._BADNESS_HINT is not None  # else every non-ASCII line would go through is_bad
    chars = sorted({c for c in BADNESS_RE.pattern if ord(c) > 127} | set("aZ .\n"))
    for first in chars:
        for second in chars:
            text = f"{first}{second} "
            if is_bad(text):
                assert mojibake._BADNESS_HINT.search(text), ascii(text)


def test_fix_mojibake_equals_ftfy_for_every_bmp_character():
    for code in range(0x10000):
        char = chr(code)
        for text in (f"a{char}b\n", f"x &amp; {char}\u2019s\nplain\n<p>{char}&lt;\n"):
            assert fix_mojibake(text) == _ftfy(text), hex(code)


def test_fix_mojibake_equals_ftfy_on_mixed_lines(ftfy_cases):
    lines = [case["original"] for case in ftfy_cases] + [case["fixed"] for case in ftfy_cases]
    lines += ["plain ascii", "a < b", "&lt;b&gt; &amp; &eacute;", "\u201cquoted\u201d", "caf\u00c3\u00a9", "\r", ""]
    rng = random.Random(5)
    for _ in range(2000):
        text = "\n".join(rng.choice(lines) for _ in range(rng.randint(1, 6)))
        assert fix_mojibake(text) == _ftfy(text), ascii(text)


def test_fix_mojibake_equals_ftfy_on_real_pages(shared_data):
    pages = sorted((shared_data / "guidelines/html/ngc_guideline_gov_2018/syntheses").glob("*.htm"))
    articles = sorted((shared_data / "pmc_oa").rglob("*.nxml"))[:10]
    for path in pages + articles:
        raw = path.read_bytes()
        for text in (raw.decode("utf-8", errors="replace"), raw.decode("latin-1")):
            for part in (text, text[text.find("<body") :]):  # with and without a "<" early on
                assert fix_mojibake(part) == _ftfy(part), path.name


def test_cleaner_skips_nothing_ftfy_would_change():
    # plain ASCII skips ftfy and the control rule; these ASCII characters must not be skipped
    cleaner = TextCleaner()
    assert cleaner.clean("a &eacute; b") == "a \u00e9 b"
    assert cleaner.clean("red \x1b[31mtext\r\nnext\x07") == "red text\nnext"
    assert cleaner.clean("tab\tand \x0c form") == "tab and form"  # (the control rule)
    assert cleaner.stats["changed_ftfy"].total == 2


def test_empty_bracket_halves_find_what_the_whole_pattern_finds():
    pieces = ["(", ")", "[", "]", " ", ",", ";", "\n", "a", "1"]
    rng = random.Random(9)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        halves = citation_remnants._EMPTY_PARENS.search(text) or citation_remnants._EMPTY_BRACKETS.search(text)
        assert bool(halves) == bool(citation_remnants._EMPTY.search(text)), text
