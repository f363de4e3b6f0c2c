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

_RECORD = re.compile(r"START_OF_RECORD=(\d+)\|\|\|\|(\d+)\|\|\|\|\n(.*?)\|\|\|\|END_OF_RECORD", re.S)
_TOKEN = re.compile(r"[A-Za-z0-9]+")

NoteKey = tuple[int, int]
_WARM_UP = "Pt transferred from Towson to GH on 3/4/2101. Dr. Ann Lee aware; wife Mary called 617-555-0142."
Spans = list[tuple[int, int, str]]


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


def load_gold(folder: str | Path) -> tuple[dict[NoteKey, str], dict[NoteKey, list[GoldSpan]]]:
    """Notes keyed by (patient, note) and their gold PHI spans (offsets into the note text, end exclusive)."""
    folder = Path(folder)
    raw = (folder / "id.text").read_text(encoding="latin-1")
    notes = {(int(m[1]), int(m[2])): m[3] for m in _RECORD.finditer(raw)}
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


def evaluate(
    folder: str | Path,
    find: Callable[[str], Spans] | None = None,
    keep: Callable[[NoteKey], bool] | None = None,
    predictions: dict[NoteKey, Spans] | None = None,
) -> DeidEvaluation:
    """Run `find` (default: the `Deidentifier`'s PHI spans) on every note of the gold corpus in `folder`, score it.

    `keep` selects notes by (patient, note) key; `predictions`, when given, receives the spans per note.
    """
    if find is None:
        from medcorpus.curation.deid.deidentifier import Deidentifier

        find = Deidentifier().phi_spans
        find(_WARM_UP)  # word lists and gazetteers load on first use: keep that out of the measured speed
    notes, gold = load_gold(folder)
    keys = [key for key in notes if keep is None or keep(key)]
    started = time.perf_counter()
    found = {key: find(notes[key]) for key in keys}
    seconds = time.perf_counter() - started
    totals: Counter = Counter()
    for key in keys:
        score_note(notes[key], gold.get(key, ()), found[key], totals)
    if predictions is not None:
        predictions.update(found)
    return DeidEvaluation(
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
