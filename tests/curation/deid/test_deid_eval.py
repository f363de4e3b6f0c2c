"""Token-level de-identification scoring and the `medcorpus eval deid` command, on a tiny corpus written here."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from medcorpus.cli.evaluate import eval_group
from medcorpus.curation.deid.evaluate import GoldSpan, evaluate, load_gold, score_note

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
def test_cli_on_dev_corpus(shared_data):
    folder = shared_data / "deid" / "physionet_deid_dev"
    result = CliRunner().invoke(eval_group, ["deid", "--corpus", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["notes"] == 1624 and metrics["recall"] >= 0.92
