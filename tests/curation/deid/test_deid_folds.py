"""Patient-grouped folds and the recorded lock-box."""

from __future__ import annotations

import pytest

from medcorpus.curation.deid.folds import (
    assign_folds,
    is_lockbox_corpus,
    lockbox,
    lockbox_for,
    lockbox_patients,
    note_counts,
)


def test_folds_group_patients_and_balance_notes():
    counts = {patient: 1 + (patient * 7) % 40 for patient in range(1, 60)}
    folds = assign_folds(counts, 5, seed=3)
    assert sorted(folds) == sorted(counts) and set(folds.values()) == set(range(5))
    sizes = [sum(counts[p] for p, f in folds.items() if f == i) for i in range(5)]
    assert max(sizes) - min(sizes) <= max(counts.values())  # no fold heavier than the lightest by a patient
    assert folds == assign_folds(dict(reversed(counts.items())), 5, seed=3)  # depends on ids, counts, seed only
    assert folds != assign_folds(counts, 5, seed=4)


def test_fold_arguments_are_checked():
    with pytest.raises(ValueError, match="at least 2 folds"):
        assign_folds({1: 3, 2: 4}, 1, 0)
    with pytest.raises(ValueError, match="2 patients cannot fill 3 folds"):
        assign_folds({1: 3, 2: 4}, 3, 0)


def test_lockbox_is_fold_zero_of_its_recorded_split(shared_data):
    folder = shared_data / "deid" / "physionet_deid_dev"
    record = lockbox()
    assert is_lockbox_corpus(folder) and record["corpus"] == folder.name and lockbox_for(folder) == lockbox_patients()
    counts = note_counts(folder)
    folds = assign_folds(counts, record["k"], record["seed"])
    assert lockbox_patients() == {p for p, f in folds.items() if f == record["fold"]}
    assert sum(counts[p] for p in lockbox_patients()) == record["notes"] == 325 and len(lockbox_patients()) == 22


def test_other_corpora_have_no_lockbox(tmp_path):
    (tmp_path / "id.text").write_text("START_OF_RECORD=1||||1||||\nx\n||||END_OF_RECORD\n")
    assert not is_lockbox_corpus(tmp_path) and lockbox_for(tmp_path) == frozenset() and note_counts(tmp_path) == {1: 1}
