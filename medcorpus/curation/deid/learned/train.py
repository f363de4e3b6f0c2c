"""Training the name/place classifier on a PhysioNet-format gold corpus, out of fold or for shipping.

Labels come from the gold spans: a candidate word inside a name span (patient, relative, clinician,
initials) is ``NAME``, inside a ``Location`` span ``LOCATION``, outside every span ``O``; candidates in
other PHI (dates, numbers) are left out, those are the pattern detectors' work. The shipped model
(`model.json`) is trained on the dev corpus minus its lock-box patients, with the corpus's sha256, the
seed and the settings recorded in the file; `make deid-model` rebuilds it byte for byte.

Usage: python -m medcorpus.curation.deid.learned.train --corpus ../shared/data/deid/physionet_deid_dev
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

from medcorpus.curation.deid.evaluate import (
    Build,
    CrossValidation,
    GoldSpan,
    NoteKey,
    Predict,
    cross_validate,
    load_gold,
)
from medcorpus.curation.deid.learned.features import Featurizer
from medcorpus.curation.deid.learned.model import MODEL_FILE, WordClassifier, fit, to_json

GOLD_CLASS = {
    "PTName": "NAME",
    "PTNameInitial": "NAME",
    "RelativeProxyName": "NAME",
    "HCPName": "NAME",
    "Location": "LOCATION",
}
C, MIN_COUNT = 1.0, 2


def examples(
    notes: dict[NoteKey, str], gold: dict[NoteKey, list[GoldSpan]], keys: Iterable[NoteKey]
) -> tuple[list[list[str]], list[str]]:
    """Feature lists and labels of every candidate word in the notes `keys` (in that order)."""
    featurizer = Featurizer()
    rows, labels = [], []
    for key in keys:
        spans = sorted(gold.get(key, []), key=lambda g: g.start)
        for (start, end), features in zip(*featurizer.note(notes[key])):
            phi = next((g.phi_type for g in spans if g.start < end and start < g.end), None)
            if phi is None or phi in GOLD_CLASS:
                rows.append(features)
                labels.append(GOLD_CLASS.get(phi, "O"))
    return rows, labels


def train(
    notes: dict[NoteKey, str], gold: dict[NoteKey, list[GoldSpan]], keys: list[NoteKey], seed: int, meta: dict
) -> dict:
    """The model trained on the notes `keys`, as the JSON-ready dict `WordClassifier` loads."""
    rows, labels = examples(notes, gold, sorted(keys))
    vectorizer, model = fit(rows, labels, c=C, seed=seed, min_count=MIN_COUNT)
    settings = {"C": C, "min_count": MIN_COUNT, "seed": seed, "candidates": len(rows), "notes": len(keys)}
    return to_json(vectorizer, model, {**meta, **settings})


def predictor(classifier: WordClassifier, rules: bool) -> Predict:
    """`predict(key, text)` of the classifier alone, or of the whole detector with it."""
    if not rules:
        return lambda _key, text: classifier.spans(text)
    from medcorpus.curation.deid.detector import PhiDetector

    detector = PhiDetector(classifier=classifier)
    return lambda _key, text: detector.find(text)


_FOLD_MODELS: dict[tuple, dict] = {}  # models trained on a set of notes (seed 0), kept for this process


def fold_model(train_notes: dict, train_gold: dict) -> dict:
    """The model trained (seed 0) on exactly these notes: trained once per process, whichever threshold, detector
    or caller (`builder`, `trade_off`, the benchmark) asks for it again."""
    key = tuple(sorted(train_notes))
    if key not in _FOLD_MODELS:
        _FOLD_MODELS[key] = train(train_notes, train_gold, sorted(train_notes), 0, {})
    return _FOLD_MODELS[key]


def builder(threshold: float, rules: bool = True) -> Build:
    """A `cross_validate` build: train on the training folds, predict with (or without) the rule detectors."""

    def build(train_notes, train_gold):
        return predictor(WordClassifier(fold_model(train_notes, train_gold), threshold), rules)

    return build


def trade_off(
    folder: str | Path, k: int, seed: int, thresholds: list[float], rules: bool = True
) -> list[tuple[float, CrossValidation]]:
    """Out-of-fold scores at each threshold; each fold's model is trained once (`fold_model`) and reused."""
    return [(t, cross_validate(folder, k, seed, build=builder(t, rules))) for t in thresholds]


def build_shipped(folder: str | Path, out: str | Path = MODEL_FILE, seed: int = 0) -> dict:
    """Train on every note of `folder` outside the lock-box and write the model to `out`; returns its meta."""
    from medcorpus.curation.deid.folds import lockbox_for
    from medcorpus.io.atomic import atomic_write_text
    from medcorpus.io.hashing import sha256_file

    folder = Path(folder)
    boxed = lockbox_for(folder)
    notes, gold = load_gold(folder)
    keys = [key for key in notes if key[0] not in boxed]
    meta = {
        "corpus": folder.name,
        "id_text_sha256": sha256_file(folder / "id.text"),
        "id_phi_phrase_sha256": sha256_file(folder / "id-phi.phrase"),
        "lockbox_patients_left_out": len(boxed),
    }
    data = train(notes, gold, keys, seed, meta)
    atomic_write_text(Path(out), json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    return data["meta"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the shipped de-identification classifier.")
    parser.add_argument("--corpus", type=Path, required=True, help="PhysioNet deid dev corpus folder")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.corpus / "id.text").is_file():
        raise SystemExit(f"deid-model: {args.corpus / 'id.text'} not found")
    meta = build_shipped(args.corpus, args.out, args.seed)
    print(f"wrote {args.out}: {meta['candidates']} candidate words from {meta['notes']} notes, seed {meta['seed']}")


if __name__ == "__main__":
    main()
