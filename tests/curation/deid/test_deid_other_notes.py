"""De-identification on note kinds other than the nursing notes of the gold corpus, written by us.

`benchmarks/deid_notes/notes.txt` holds discharge summaries, radiology reports and clinic letters with
planted PHI. No rule was written from them: they were committed before the detector was first run on
them, and its misses there are not read to write rules, so they stay a held-out check.
"""

from __future__ import annotations

import importlib.util

from support.paths import PROJECT

from medcorpus.curation.deid.evaluate import evaluate, finder, load_gold

NOTES = PROJECT / "benchmarks" / "deid_notes"


def _builder():
    spec = importlib.util.spec_from_file_location("deid_notes_build", NOTES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gold_files_are_built_from_the_marked_up_notes():
    build = _builder()
    records = build.parse((NOTES / "notes.txt").read_text(encoding="utf-8"))
    texts, phrases = build.render(records)
    assert (NOTES / "id.text").read_text(encoding="latin-1") == texts
    assert (NOTES / "id-phi.phrase").read_text(encoding="latin-1") == phrases
    assert sorted({kind for *_, kind, _text, _spans in records}) == [
        "clinic letter",
        "discharge summary",
        "radiology report",
    ]
    notes, gold = load_gold(NOTES)
    assert len(notes) == 15 and sum(len(spans) for spans in gold.values()) == 145
    for key, spans in gold.items():
        assert all(notes[key][s.start : s.end].strip() == notes[key][s.start : s.end] != "" for s in spans)


def test_recall_floor_on_other_note_kinds():
    learned = evaluate(NOTES)
    rules = evaluate(NOTES, finder(learned=False))
    # Held out for everything (never used to write a rule or train). Rules alone, measured when the notes
    # were first scored: recall 0.8314, precision 0.9894 (Location 0.507). With the shipped classifier
    # (threshold 0.5): recall 0.8994, precision 0.9651 (Location 0.773). Below the 0.99 target: floors
    # against regressions, and the figures to beat.
    assert rules.recall >= 0.82 and rules.precision >= 0.97
    assert learned.recall >= 0.89 and learned.precision >= 0.95
    assert learned.recall_by_type["Location"] >= 0.75
