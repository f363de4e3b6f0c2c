"""Gopher's word n-gram repetition measures for the documents of a batch, counted with numpy.

The n-grams are grouped by one sort per n (key: the (n-1)-gram's group and the last word's id, equal keys
split where the document changes). Only positions whose n-gram occurs at least twice in its document are
carried on to n + 1, since no other longer n-gram can repeat; the greedy scan for duplicated n-grams
(datatrove's `find_all_duplicate`) then loops over those positions only.

Difference from datatrove's `find_all_duplicate`: it compares n-grams as their words joined without a
separator, so ("ab", "c") equals ("a", "bc") there; here n-grams are compared as word sequences.
"""

from __future__ import annotations

import numpy as np

TOP_NGRAMS = ((2, 1.0), (3, 0.9), (4, 0.8))
DUP_STOP = 0.05  # below this share of repeated 5-gram text, longer n-grams are not measured
DUP_NGRAMS = tuple((n, 1.0 - (n - 5) / 15) for n in range(5, 11))  # 0.15 -> 0.10 when the 5-gram limit is 0.15


def _group(keys: np.ndarray, positions: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorts `positions` by key (then position); returns them with their group (equal key and document)
    and the group's size."""
    bits = int(positions.max(initial=0)).bit_length()
    if int(keys.max(initial=0)).bit_length() + bits <= 63:
        packed = np.sort((keys << bits) | positions)
        keys, positions = packed >> bits, packed & ((1 << bits) - 1)
    else:
        order = np.argsort(keys, kind="stable")
        keys, positions = keys[order], positions[order]
    docs = doc[positions]
    new = np.ones(len(keys), bool)
    new[1:] = (keys[1:] != keys[:-1]) | (docs[1:] != docs[:-1])
    groups = np.cumsum(new) - 1
    return positions, groups, np.bincount(groups)[groups]


def _top_chars(
    positions: np.ndarray, groups: np.ndarray, sizes: np.ndarray, doc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per document with a repeated n-gram: its most frequent one's first position and count (the first
    seen among equal counts)."""
    heads = np.flatnonzero(np.diff(groups, prepend=-1))
    first, count = positions[heads], sizes[heads]
    order = np.lexsort((first, -count, doc[first]))
    docs = doc[first[order]]
    best = order[np.diff(docs, prepend=-1) != 0]
    return doc[first[best]], first[best], count[best]


def ngram_excess(
    ids: np.ndarray, doc: np.ndarray, bounds: np.ndarray, offsets: np.ndarray, chosen: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(top n-gram, duplicated n-gram) character ratios over their scales, the largest over n of each as in
    Gopher's ladders, for the `chosen` documents (0 elsewhere). `ids`/`doc`: each word's id and document,
    `bounds`: documents' first words (and the end), `offsets`: characters of the words before each word,
    `lengths`: the texts' lengths (at least 1)."""
    top, dup = np.zeros(len(chosen)), np.zeros(len(chosen))
    ends = bounds[1:][doc]
    positions = np.flatnonzero(chosen[doc])
    rank, n_ids = ids.copy(), int(ids.max(initial=0)) + 1
    active = chosen.copy()
    for n in range(2, DUP_NGRAMS[-1][0] + 1):
        positions = positions[(positions + n <= ends[positions]) & active[doc[positions]]]
        keys = rank[positions] * n_ids + ids[positions + n - 1]
        positions, groups, sizes = _group(keys, positions, doc)
        repeated = sizes > 1
        positions, groups, sizes = positions[repeated], groups[repeated], sizes[repeated]
        rank[positions] = groups
        if n <= TOP_NGRAMS[-1][0]:
            found, first, count = _top_chars(positions, groups, sizes, doc)
            chars = (offsets[first + n] - offsets[first] + n - 1) * count
            top[found] = np.maximum(top[found], chars / lengths[found] / TOP_NGRAMS[n - 2][1])
        else:
            ratios = np.zeros(len(chosen))
            for d, chars in _greedy(positions, groups, doc, offsets, n).items():
                ratios[d] = chars / lengths[d]
            dup = np.maximum(dup, ratios / DUP_NGRAMS[n - 5][1])
            active &= ratios > DUP_STOP
            if not active.any():
                break
    return top, dup


def _greedy(positions: np.ndarray, groups: np.ndarray, doc: np.ndarray, offsets: np.ndarray, n: int) -> dict[int, int]:
    """datatrove's greedy left-to-right scan for repeated n-grams, on the positions of n-grams that occur
    twice (other positions never match): characters (without separators) in copies seen before, per
    document; a counted copy's other words are skipped."""
    order = np.argsort(positions)
    positions, groups = positions[order], groups[order]
    chars = (offsets[positions + n] - offsets[positions]).tolist()
    totals: dict[int, int] = {}
    current, resume, seen = -1, 0, set()
    for position, group, d, size in zip(positions.tolist(), groups.tolist(), doc[positions].tolist(), chars):
        if d != current:
            current, resume, seen = d, 0, set()
            totals[d] = 0
        if position < resume:
            continue
        if group in seen:
            totals[d] += size
            resume = position + n
        else:
            seen.add(group)
    return totals
