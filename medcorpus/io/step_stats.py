"""The counts a stage's steps kept with `stat_update` (e.g. the cleaner's per-rule counts), for the manifest.

datatrove saves each task's step stats in `<logs>/<pipeline>/stats/<rank>.json` (and a merged `stats.json`,
which after a resume holds only the tasks that run re-ran, so it is not used). This sums the tasks' files as
`{step name: {stat: total}}` over a stage's pipelines, leaving out readers, writers and the stage counter
(their figures are already in the manifest) and timing figures.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

_SKIPPED_TYPES = ("READER", "WRITER", "STATS")
_SKIPPED_STATS = {"doc_len", "input_files"}


def _total(value) -> int | float | None:
    if isinstance(value, dict):
        value = value.get("total")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_step_counts(stage_folder: str | Path) -> dict[str, dict[str, int | float]]:
    """`{step name: {stat: total}}` from a stage's per-task `logs/*/stats/*.json` (empty when none was written)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for path in sorted(Path(stage_folder).glob("logs/*/stats/*.json")):
        try:
            steps = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for step in steps if isinstance(steps, list) else []:
            name = str(step.get("name", ""))
            kind, _, label = name.partition(": ")
            if any(skip in kind for skip in _SKIPPED_TYPES):
                continue
            for stat, value in (step.get("stats") or {}).items():
                total = _total(value)
                if total is not None and stat not in _SKIPPED_STATS:
                    counts[(label or name).strip()][stat] += total
    return {name: dict(sorted(values.items())) for name, values in sorted(counts.items()) if values}
