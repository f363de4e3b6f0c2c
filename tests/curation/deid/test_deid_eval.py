"""Token-level de-identification scoring and the `medcorpus eval deid` command, on a tiny corpus written here."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from support.paths import PROJECT

from medcorpus.cli.evaluate import eval_group
from medcorpus.curation.deid.evaluate import GoldSpan, cross_validate, evaluate, load_deidpl, load_gold, score_note
from medcorpus.curation.deid.folds import lockbox, lockbox_patients

NOTES = {
    (3, 1): "Pt seen by Dr. Quillan on 3/14. Wife Marta called 410-555-0187.",
    (3, 2): "No events overnight. Foley in place, Lasix given.",
}


def phrase(key, text, secret, phi_type):
    start = text.index(secret)
    return f"{key[0]} {key[1]} {start} {start + len(secret)} {phi_type} {secret}"


@pytest.fixture
def corpus(tmp_path):
    records = "".join(
        f"START_OF_RECORD={p}||||{n}||||\n{text}\n||||END_OF_RECORD\n\n" for (p, n), text in NOTES.items()
    )
    (tmp_path / "id.text").write_text(records, encoding="latin-1")
    text = NOTES[(3, 1)]
    lines = [
        phrase((3, 1), text, "Quillan", "HCPName"),
        phrase((3, 1), text, "3/14", "Date"),
        phrase((3, 1), text, "Marta", "RelativeProxyName"),
        phrase((3, 1), text, "410-555-0187", "Phone"),
    ]
    (tmp_path / "id-phi.phrase").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return tmp_path


def test_load_gold_offsets(corpus):
    notes, gold = load_gold(corpus)
    assert notes[(3, 1)].startswith("Pt seen") and (3, 2) in notes
    assert [notes[(3, 1)][g.start : g.end] for g in gold[(3, 1)]] == ["Quillan", "3/14", "Marta", "410-555-0187"]


def test_score_note_counts_tokens_by_overlap():
    text = "Dr. Quillan Smith on 3/14 ok"
    gold = [GoldSpan(4, 17, "HCPName"), GoldSpan(21, 25, "Date")]
    totals: Counter = Counter()
    # One predicted span overlaps "Quillan" only by one character; another covers "ok" (a false positive).
    score_note(text, gold, [(10, 11, "NAME"), (26, 28, "NAME")], totals)
    assert totals["words"] == 7 and totals["gold"] == 4  # Quillan, Smith, 3, 14
    assert totals["found"] == 1 and totals["predicted"] == 2 and totals["correct"] == 1
    assert totals["gold:HCPName"] == 2 and totals["found:HCPName"] == 1 and totals["gold:Date"] == 2


def test_evaluate_perfect_and_empty_predictions(corpus):
    notes, gold = load_gold(corpus)
    perfect = {key: [(g.start, g.end, g.phi_type) for g in gold.get(key, [])] for key in notes}
    result = evaluate(corpus, lambda text: perfect[next(k for k, t in notes.items() if t == text)])
    assert result.recall == 1.0 and result.precision == 1.0 and result.f2 == 1.0
    assert result.gold_tokens == 7 and result.misses_per_100k_words == 0.0
    empty = evaluate(corpus, lambda text: [])
    assert empty.recall == 0.0 and empty.predicted_tokens == 0 and empty.misses_per_100k_words > 0
    assert empty.recall_by_type == {"Date": 0.0, "HCPName": 0.0, "Phone": 0.0, "RelativeProxyName": 0.0}


def test_evaluate_default_deidentifier_and_half_selection(corpus):
    result = evaluate(corpus)
    assert result.recall == 1.0 and result.precision == 1.0
    assert evaluate(corpus, keep=lambda key: key[1] == 2).gold_tokens == 0


def test_cli_prints_metrics_json_and_writes_predictions(corpus, tmp_path):
    out = tmp_path / "pred" / "spans.jsonl"
    result = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--predictions", str(out), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0 and metrics["notes"] == 2
    assert set(metrics["recall_by_type"]) == {"Date", "HCPName", "Phone", "RelativeProxyName"}
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["patient"], r["note"]) for r in records] == [(3, 1), (3, 2)]
    text = NOTES[(3, 1)]
    assert {text[s:e] for s, e, _t in records[0]["spans"]} >= {"Quillan", "3/14", "Marta"}
    assert records[1]["spans"] == []


def test_cli_text_report_and_bad_folder(corpus, tmp_path):
    result = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus)])
    assert result.exit_code == 0 and "recall    1.0000" in result.output and "HCPName" in result.output
    assert "Quillan" not in result.output
    bad = CliRunner().invoke(eval_group, ["deid", "--corpus", str(tmp_path / "pred")])
    assert bad.exit_code != 0


@pytest.mark.slow
def test_cli_leaves_the_lockbox_out_of_the_dev_corpus(shared_data):
    folder = shared_data / "deid" / "physionet_deid_dev"
    result = CliRunner().invoke(eval_group, ["deid", "--corpus", str(folder), "--json", "--rules-only"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["notes"] == 1624 - lockbox()["notes"] == 1299
    # In-sample (the rules were written from these notes), measured 0.9953 / 0.9130: a regression guard
    assert metrics["recall"] >= 0.99 and metrics["precision"] >= 0.90


def test_cli_folds_and_lockbox_options(corpus):
    folds = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--folds", "2", "--json"])
    assert folds.exit_code != 0 and "1 patients cannot fill 2 folds" in str(folds.exception)
    both = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--folds", "2", "--predictions", "p.jsonl"])
    assert both.exit_code != 0 and "takes no --folds" in both.output
    boxed = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--lockbox"])
    assert boxed.exit_code != 0 and "not the corpus the lock-box was drawn from" in boxed.output


def test_cross_validation_builds_each_fold_from_the_other_patients_only(tmp_path):
    notes = {(p, n): f"Note {n} of patient {p}: seen by Dr. Quillan on 3/{n}." for p in (1, 2, 4, 5, 7) for n in (1, 2)}
    records = "".join(
        f"START_OF_RECORD={p}||||{n}||||\n{text}\n||||END_OF_RECORD\n\n" for (p, n), text in notes.items()
    )
    (tmp_path / "id.text").write_text(records, encoding="latin-1")
    lines = [phrase(key, text, "Quillan", "HCPName") for key, text in notes.items()]
    (tmp_path / "id-phi.phrase").write_text("\n".join(lines) + "\n", encoding="latin-1")
    seen: list[set[int]] = []

    def build(train_notes, train_gold):
        trained = {key[0] for key in train_notes}
        assert set(train_gold) == set(train_notes)
        seen.append(trained)

        def predict(key, text):
            assert key[0] not in trained and key[0] != 7  # held-out fold only; patient 7 is excluded
            start = text.index("Quillan")
            return [(start, start + 7, "NAME")]

        return predict

    result = cross_validate(tmp_path, k=2, seed=3, build=build, exclude=frozenset({7}))
    assert len(seen) == 2 and seen[0] | seen[1] == {1, 2, 4, 5} and not seen[0] & seen[1]
    assert set(result.patients) == {1, 2, 4, 5}
    assert result.pooled.recall == 1.0 and result.pooled.notes == 8
    assert result.pooled.gold_tokens == sum(fold.gold_tokens for fold in result.folds) == 8
    assert result.as_dict()["patients_per_fold"] == [2, 2]
    # another corpus keeps every patient, lock-box ids (1 is one) included: the lock-box is the dev corpus's own
    assert set(cross_validate(tmp_path, k=2, seed=3, build=lambda _n, _g: lambda _k, _t: []).patients) == {
        1,
        2,
        4,
        5,
        7,
    }


def test_deidpl_predictions_parse(tmp_path):
    (tmp_path / "id.phi").write_text("Patient 1\tNote 1\n48\t48\t64\n138\t138\t154\nPatient 1\tNote 2\n")
    assert load_deidpl(tmp_path) == {(1, 1): [(48, 64, "PHI"), (138, 154, "PHI")], (1, 2): []}


@pytest.mark.slow
def test_deidpl_baseline_on_the_dev_corpus(shared_data):
    folder = shared_data / "deid" / "physionet_deid_dev"
    predicted = load_deidpl(folder)
    notes, _gold = load_gold(folder)
    assert set(predicted) == set(notes)
    boxed = lockbox_patients()
    result = cross_validate(folder, 5, 0, build=lambda _n, _g: lambda key, _text: predicted[key], exclude=boxed)
    # measured 0.9734 / 0.7380 (the corpus's README: deid.pl reports recall 0.967, precision 0.749 on the whole corpus)
    assert 0.97 <= result.pooled.recall <= 0.98 and 0.73 <= result.pooled.precision <= 0.75


def test_cli_threshold_curve_and_rules_only(corpus):
    bad = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--curve"])
    assert bad.exit_code != 0 and "--curve needs --folds" in bad.output
    bad = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--threshold", "0"])
    assert bad.exit_code != 0
    rules = CliRunner().invoke(eval_group, ["deid", "--corpus", str(corpus), "--rules-only", "--json"])
    assert rules.exit_code == 0 and json.loads(rules.output)["recall"] == 1.0


def test_cli_curve_is_out_of_fold_and_monotone():
    notes = PROJECT / "benchmarks" / "deid_notes"
    args = ["deid", "--corpus", str(notes), "--folds", "2", "--curve", "--json"]
    result = CliRunner().invoke(eval_group, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["threshold"] for row in rows] == [round(0.1 * i, 1) for i in range(1, 10)]
    recalls = [row["recall"] for row in rows]
    assert recalls == sorted(recalls, reverse=True)  # a higher cut never finds more
    assert rows[0]["precision"] <= rows[-1]["precision"]


def test_each_fold_model_is_trained_once_whatever_asks_for_it():
    from medcorpus.curation.deid.evaluate import cross_validate
    from medcorpus.curation.deid.learned import train

    notes = PROJECT / "benchmarks" / "deid_notes"
    before = len(train._FOLD_MODELS)
    curve = dict(train.trade_off(notes, 2, 0, [0.3, 0.5]))
    trained = len(train._FOLD_MODELS) - before
    direct = cross_validate(notes, 2, 0, build=train.builder(0.5))
    assert trained <= 2 and len(train._FOLD_MODELS) - before == trained  # no fold trained again
    assert (direct.pooled.recall, direct.pooled.precision) == (curve[0.5].pooled.recall, curve[0.5].pooled.precision)
