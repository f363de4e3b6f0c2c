"""Token-level evaluation of de-identification on the PhysioNet deid gold standard (``id.text`` + ``id-phi.phrase``).

A token is a run of letters and digits. A gold PHI token (one inside a gold span) is *found* when a predicted
span overlaps it; a predicted token (one a predicted span overlaps) is *correct* when it is a gold PHI token.
Recall = found / gold tokens, precision = correct / predicted tokens, F2 weighs recall four times as much.
Misses per 100,000 words count gold tokens not found per 100,000 tokens of text. Note text never leaves this
module: results hold ids, counts and offsets only.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medcorpus.curation.deid.learned.model import DEFAULT_THRESHOLD

_RECORD = re.compile(r"START_OF_RECORD=(\d+)\|\|\|\|(\d+)\|\|\|\|\n(.*?)\|\|\|\|END_OF_RECORD", re.S)
_TOKEN = re.compile(r"[A-Za-z0-9]+")

NoteKey = tuple[int, int]
_WARM_UP = "Pt transferred from Harrowgate to KVH on 3/4/2101. Dr. Ilse Varga aware; wife Odile called 617-555-0142."
Spans = list[tuple[int, int, str]]
Predict = Callable[[NoteKey, str], Spans]
Build = Callable[[dict[NoteKey, str], dict[NoteKey, list["GoldSpan"]]], Predict]


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    phi_type: str


@dataclass
class DeidEvaluation:
    """Token-level scores of one run over a gold corpus."""

    notes: int
    words: int
    characters: int
    gold_tokens: int
    found_tokens: int
    predicted_tokens: int
    correct_tokens: int
    seconds: float
    gold_by_type: dict[str, int] = field(default_factory=dict)
    found_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.found_tokens / self.gold_tokens if self.gold_tokens else 1.0

    @property
    def precision(self) -> float:
        return self.correct_tokens / self.predicted_tokens if self.predicted_tokens else 1.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0

    @property
    def recall_by_type(self) -> dict[str, float]:
        return {t: self.found_by_type.get(t, 0) / n for t, n in sorted(self.gold_by_type.items())}

    @property
    def misses_per_100k_words(self) -> float:
        return 1e5 * (self.gold_tokens - self.found_tokens) / self.words if self.words else 0.0

    @property
    def notes_per_second(self) -> float:
        return self.notes / self.seconds if self.seconds else float("inf")

    @property
    def mb_per_second(self) -> float:
        return self.characters / 1e6 / self.seconds if self.seconds else float("inf")

    def as_dict(self) -> dict:
        """Every figure as plain JSON-ready values."""
        return {
            "notes": self.notes,
            "words": self.words,
            "gold_tokens": self.gold_tokens,
            "predicted_tokens": self.predicted_tokens,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "f2": round(self.f2, 4),
            "recall_by_type": {t: round(v, 4) for t, v in self.recall_by_type.items()},
            "gold_tokens_by_type": dict(sorted(self.gold_by_type.items())),
            "misses_per_100k_words": round(self.misses_per_100k_words, 2),
            "notes_per_second": round(self.notes_per_second, 1),
            "mb_per_second": round(self.mb_per_second, 3),
            "seconds": round(self.seconds, 3),
        }


def load_notes(folder: str | Path) -> dict[NoteKey, str]:
    """The notes of `id.text` keyed by (patient, note)."""
    raw = (Path(folder) / "id.text").read_text(encoding="latin-1")
    return {(int(m[1]), int(m[2])): m[3] for m in _RECORD.finditer(raw)}


def load_gold(folder: str | Path) -> tuple[dict[NoteKey, str], dict[NoteKey, list[GoldSpan]]]:
    """Notes keyed by (patient, note) and their gold PHI spans (offsets into the note text, end exclusive)."""
    folder = Path(folder)
    notes = load_notes(folder)
    gold: dict[NoteKey, list[GoldSpan]] = {}
    for line in (folder / "id-phi.phrase").read_text(encoding="latin-1").splitlines():
        parts = line.split(" ", 5)
        if len(parts) >= 5 and parts[2].isdigit() and parts[3].isdigit():
            key = (int(parts[0]), int(parts[1]))
            gold.setdefault(key, []).append(GoldSpan(int(parts[2]), int(parts[3]), parts[4]))
    return notes, gold


def score_note(text: str, gold: Iterable[GoldSpan], predicted: Spans, totals: Counter) -> None:
    """Add one note's token counts to `totals` (keys: words, gold, found, predicted, correct, gold:T, found:T)."""
    size = len(text) + 1
    gold_type: list[str | None] = [None] * size
    for span in gold:
        for i in range(max(0, span.start), min(span.end, len(text))):
            gold_type[i] = span.phi_type
    hit = bytearray(size)
    for start, end, _tag in predicted:
        hit[max(0, start) : min(end, len(text))] = b"\x01" * max(0, min(end, len(text)) - max(0, start))
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        totals["words"] += 1
        phi = next((t for t in gold_type[start:end] if t is not None), None)
        predicted_here = 1 in hit[start:end]
        totals["predicted"] += predicted_here
        if phi is not None:
            totals["gold"] += 1
            totals[f"gold:{phi}"] += 1
            totals["found"] += predicted_here
            totals[f"found:{phi}"] += predicted_here
            totals["correct"] += predicted_here


def load_deidpl(folder: str | Path) -> dict[NoteKey, Spans]:
    """deid.pl's own predictions shipped with the corpus (`id.phi`: `Patient N<TAB>Note M` then `start start end`)."""
    spans: dict[NoteKey, Spans] = {}
    key: NoteKey | None = None
    for line in (Path(folder) / "id.phi").read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "Patient" and parts[2] == "Note":
            key = (int(parts[1]), int(parts[3]))
            spans.setdefault(key, [])
        elif len(parts) == 3 and key is not None and all(p.isdigit() for p in parts):
            spans[key].append((int(parts[0]), int(parts[2]), "PHI"))
    return spans


def score(
    notes: dict[NoteKey, str], gold: dict[NoteKey, list[GoldSpan]], keys: list[NoteKey], predict: Predict
) -> tuple[DeidEvaluation, dict[NoteKey, Spans]]:
    """Predict the notes `keys` (timed) and score them; also returns the predicted spans per note."""
    started = time.perf_counter()
    found = {key: predict(key, notes[key]) for key in keys}
    seconds = time.perf_counter() - started
    totals: Counter = Counter()
    for key in keys:
        score_note(notes[key], gold.get(key, ()), found[key], totals)
    result = DeidEvaluation(
        notes=len(keys),
        words=totals["words"],
        characters=sum(len(notes[key]) for key in keys),
        gold_tokens=totals["gold"],
        found_tokens=totals["found"],
        predicted_tokens=totals["predicted"],
        correct_tokens=totals["correct"],
        seconds=seconds,
        gold_by_type={k[5:]: v for k, v in totals.items() if k.startswith("gold:")},
        found_by_type={k[6:]: v for k, v in totals.items() if k.startswith("found:")},
    )
    return result, found


def finder(learned: bool = True, threshold: float = DEFAULT_THRESHOLD) -> Callable[[str], Spans]:
    """The `Deidentifier`'s PHI span finder (rules and, with `learned`, the shipped classifier), warmed up
    (word lists and the model load on first use, outside the timing)."""
    from medcorpus.curation.deid.deidentifier import Deidentifier

    find = Deidentifier(learned=learned, threshold=threshold).phi_spans
    find(_WARM_UP)
    return find


def evaluate(
    folder: str | Path,
    find: Callable[[str], Spans] | None = None,
    keep: Callable[[NoteKey], bool] | None = None,
    predictions: dict[NoteKey, Spans] | None = None,
) -> DeidEvaluation:
    """Run `find` (default: the `Deidentifier`'s PHI spans) on every note of the gold corpus in `folder`, score it.

    `keep` selects notes by (patient, note) key; `predictions`, when given, receives the spans per note.
    """
    find = find or finder()
    notes, gold = load_gold(folder)
    keys = [key for key in notes if keep is None or keep(key)]
    result, found = score(notes, gold, keys, lambda _key, text: find(text))
    if predictions is not None:
        predictions.update(found)
    return result


def combine(results: list[DeidEvaluation]) -> DeidEvaluation:
    """The pooled evaluation of disjoint parts (counts and times added)."""
    types = sorted({t for r in results for t in r.gold_by_type})
    return DeidEvaluation(
        notes=sum(r.notes for r in results),
        words=sum(r.words for r in results),
        characters=sum(r.characters for r in results),
        gold_tokens=sum(r.gold_tokens for r in results),
        found_tokens=sum(r.found_tokens for r in results),
        predicted_tokens=sum(r.predicted_tokens for r in results),
        correct_tokens=sum(r.correct_tokens for r in results),
        seconds=sum(r.seconds for r in results),
        gold_by_type={t: sum(r.gold_by_type.get(t, 0) for r in results) for t in types},
        found_by_type={t: sum(r.found_by_type.get(t, 0) for r in results) for t in types},
    )


@dataclass
class CrossValidation:
    """Out-of-fold scores: one evaluation per held-out fold, and all folds' predictions pooled."""

    folds: list[DeidEvaluation]
    patients: dict[int, int]  # patient -> fold

    @property
    def pooled(self) -> DeidEvaluation:
        return combine(self.folds)

    def spread(self, metric: str) -> tuple[float, float]:
        """Lowest and highest value of `metric` ("recall", "precision", "f2") over the folds."""
        values = [getattr(fold, metric) for fold in self.folds]
        return min(values), max(values)

    def as_dict(self) -> dict:
        return {
            "pooled": self.pooled.as_dict(),
            "folds": [fold.as_dict() for fold in self.folds],
            "spread": {m: [round(v, 4) for v in self.spread(m)] for m in ("recall", "precision", "f2")},
            "patients_per_fold": [sum(1 for f in self.patients.values() if f == i) for i in range(len(self.folds))],
        }


def fixed(predict: Predict) -> Build:
    """A `cross_validate` build for a detector that learns nothing: the same `predict` for every fold."""
    return lambda _notes, _gold: predict


def cross_validate(
    folder: str | Path,
    k: int = 5,
    seed: int = 0,
    build: Build | None = None,
    exclude: frozenset[int] | None = None,
) -> CrossValidation:
    """Patient-grouped K-fold: for each fold, `build` gets only the other folds' notes and gold, then predicts it.

    `build(train_notes, train_gold)` returns a `predict(key, text)`; the default trains the classifier
    on the training folds and runs it with the rules. `exclude` (default: `lockbox_for(folder)`) are left out.
    """
    from medcorpus.curation.deid.folds import assign_folds, count_notes, lockbox_for
    from medcorpus.curation.deid.learned.train import builder

    excluded = lockbox_for(folder) if exclude is None else exclude
    notes, gold = load_gold(folder)
    patients = assign_folds(count_notes(p for p, _ in notes if p not in excluded), k, seed)
    keys = [key for key in notes if key[0] in patients]
    build = build or builder(DEFAULT_THRESHOLD)
    results = []
    for fold in range(k):
        train = [key for key in keys if patients[key[0]] != fold]
        held_out = [key for key in keys if patients[key[0]] == fold]
        predict = build({key: notes[key] for key in train}, {key: gold.get(key, []) for key in train})
        results.append(score(notes, gold, held_out, predict)[0])
    return CrossValidation(results, patients)
