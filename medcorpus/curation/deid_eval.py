"""Evaluate the residual-PHI detector on the PhysioNet deid gold standard (``id.text`` + ``id-phi.phrase``).

Recall: a gold span counts as caught when every alphanumeric character of it lies inside a detected span.
Character precision: the fraction of detected characters that lie inside gold spans. Span precision: the
fraction of detected spans that overlap a gold span. Note text never leaves this module (no logging).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from medcorpus.curation.phi_detector import PhiDetector

_RECORD = re.compile(r"START_OF_RECORD=(\d+)\|\|\|\|(\d+)\|\|\|\|\n(.*?)\|\|\|\|END_OF_RECORD", re.S)


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    phi_type: str


@dataclass
class DeidEvaluation:
    """Recall per gold PHI type and overall, precision, and speed of one detector run."""

    recall_by_type: dict[str, float]
    recall: float
    char_precision: float
    span_precision: float
    notes: int
    gold_spans: int
    seconds: float
    missed_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def notes_per_second(self) -> float:
        return self.notes / self.seconds if self.seconds else float("inf")


def load_gold(folder: str | Path) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], list[GoldSpan]]]:
    """Notes keyed by (patient, note) and their gold PHI spans (offsets into the note text, end exclusive)."""
    folder = Path(folder)
    raw = (folder / "id.text").read_text(encoding="latin-1")
    notes = {(int(m[1]), int(m[2])): m[3] for m in _RECORD.finditer(raw)}
    gold: dict[tuple[int, int], list[GoldSpan]] = defaultdict(list)
    for line in (folder / "id-phi.phrase").read_text(encoding="latin-1").splitlines():
        parts = line.split(" ", 5)
        if len(parts) >= 5:
            gold[(int(parts[0]), int(parts[1]))].append(GoldSpan(int(parts[2]), int(parts[3]), parts[4]))
    return notes, dict(gold)


def _caught(text: str, span: GoldSpan, covered: bytearray) -> bool:
    return all(covered[i] for i in range(span.start, min(span.end, len(text))) if text[i].isalnum())


def evaluate(folder: str | Path, detector: PhiDetector | None = None) -> DeidEvaluation:
    """Run `detector` over every note of the gold corpus in `folder` and score it."""
    detector = detector or PhiDetector()
    notes, gold = load_gold(folder)
    totals: Counter = Counter()
    hits: Counter = Counter()
    detected_chars = detected_in_gold = detected_spans = spans_on_gold = 0
    started = time.perf_counter()
    found = {key: detector.find(text) for key, text in notes.items()}
    seconds = time.perf_counter() - started
    for key, text in notes.items():
        covered = bytearray(len(text))
        for start, end, _tag in found[key]:
            covered[start:end] = b"\x01" * (end - start)
        in_gold = bytearray(len(text))
        for span in gold.get(key, ()):
            in_gold[span.start : span.end] = b"\x01" * (span.end - span.start)
            totals[span.phi_type] += 1
            hits[span.phi_type] += _caught(text, span, covered)
        for start, end, _tag in found[key]:
            detected_spans += 1
            inside = sum(in_gold[start:end])
            detected_chars += end - start
            detected_in_gold += inside
            spans_on_gold += inside > 0
    total = sum(totals.values())
    return DeidEvaluation(
        recall_by_type={t: hits[t] / totals[t] for t in sorted(totals)},
        recall=sum(hits.values()) / total if total else 0.0,
        char_precision=detected_in_gold / detected_chars if detected_chars else 0.0,
        span_precision=spans_on_gold / detected_spans if detected_spans else 0.0,
        notes=len(notes),
        gold_spans=total,
        seconds=seconds,
        missed_by_type={t: totals[t] - hits[t] for t in sorted(totals)},
    )
