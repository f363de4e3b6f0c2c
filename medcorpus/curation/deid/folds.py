"""Patient-grouped folds of a PhysioNet-format gold corpus, and the lock-box that no development may see.

Notes of one patient share names, places and dates, so a detector scored on a patient it was built
from looks better than it is. Every split here is by patient: `assign_folds` deals patients (largest
first, in a seeded order) to the fold with the fewest notes so far, which balances the folds' sizes
and depends only on the patient ids, their note counts and the seed.

The lock-box (`lockbox_patients.json`, beside this file) is one fold of the PhysioNet dev corpus,
chosen that way before any detector was trained or rule written against the split: its notes are
left out of development and cross-validation, and scored once, at the end of a piece of work
(`medcorpus eval deid --lockbox`). The rule detector that predates the split was written from every
dev note, lock-box included, so for it the lock-box is not unseen; for anything built since, it is.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from functools import lru_cache
from pathlib import Path

LOCKBOX_FILE = Path(__file__).with_name("lockbox_patients.json")


def note_counts(folder: str | Path) -> dict[int, int]:
    """Notes per patient of the corpus in `folder` (only the notes' keys are used)."""
    from medcorpus.curation.deid.evaluate import load_notes

    return count_notes(patient for patient, _note in load_notes(folder))


def count_notes(patients) -> dict[int, int]:
    """Notes per patient, given the patient id of every note."""
    return dict(sorted(Counter(patients).items()))


def assign_folds(counts: dict[int, int], k: int, seed: int) -> dict[int, int]:
    """Patient -> fold in 0..k-1: a seeded shuffle, then largest patients first onto the lightest fold."""
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    if len(counts) < k:
        raise ValueError(f"{len(counts)} patients cannot fill {k} folds")
    order = sorted(counts)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda patient: -counts[patient])  # stable: equal sizes keep the shuffled order
    load, folds = [0] * k, {}
    for patient in order:
        fold = min(range(k), key=lambda i: (load[i], i))
        folds[patient] = fold
        load[fold] += counts[patient]
    return dict(sorted(folds.items()))


@lru_cache(maxsize=1)
def lockbox() -> dict:
    """The recorded lock-box: corpus, seed, number of folds it is one of, and its patient ids."""
    return json.loads(LOCKBOX_FILE.read_text())


def is_lockbox_corpus(folder: str | Path) -> bool:
    """Whether `folder` holds the corpus the lock-box was drawn from (its `id.text`, byte for byte)."""
    from medcorpus.io.hashing import sha256_file

    path = Path(folder) / "id.text"
    return path.is_file() and sha256_file(path) == lockbox()["id_text_sha256"]


def lockbox_patients() -> frozenset[int]:
    """Patient ids of the lock-box fold."""
    return frozenset(lockbox()["patients"])


def lockbox_for(folder: str | Path) -> frozenset[int]:
    """The patients to leave out of development on the corpus in `folder`: the lock-box on its own corpus, else none."""
    return lockbox_patients() if is_lockbox_corpus(folder) else frozenset()
