"""Planning a mix: how many tokens of each source reach the ratios, and which documents supply them."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np


class InfeasibleMix(ValueError):
    """The ratios and budget need more of a source than its epoch cap allows."""


@dataclass
class SourceStock:
    """The documents one source offers: their ids (sorted), token lengths and where they live."""

    source: str
    category: str
    ids: list[str] = field(default_factory=list)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    locations: list[tuple[int, int]] = field(default_factory=list)  # (input shard, document index)
    doc_sources: list[str] = field(default_factory=list)  # each document's source, for pooled stocks
    restricted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # credentialed-licence data

    def __post_init__(self) -> None:
        if not self.doc_sources:
            self.doc_sources = [self.source] * len(self.ids)
        if len(self.restricted) == 0:
            self.restricted = np.zeros(len(self.ids), dtype=bool)
        if len(self.restricted) != len(self.ids):
            raise ValueError(f"source {self.source!r}: {len(self.restricted)} restricted flags for {len(self.ids)} ids")

    @property
    def tokens(self) -> int:
        return int(self.lengths.sum())


def pool(name: str, members: list[SourceStock]) -> SourceStock:
    """One stock of several sources of a category, so their documents are selected together."""
    return SourceStock(
        source=name,
        category=members[0].category,
        ids=[i for m in members for i in m.ids],
        lengths=np.concatenate([m.lengths for m in members]),
        locations=[loc for m in members for loc in m.locations],
        doc_sources=[s for m in members for s in m.doc_sources],
        restricted=np.concatenate([m.restricted for m in members]),
    )


@dataclass
class MixPlan:
    """Target tokens per category and source, and the budget they add up to."""

    budget: float
    category_targets: dict[str, float]
    source_targets: dict[str, float]


def plan_mix(
    stocks: dict[str, SourceStock],
    ratios: dict[str, float],
    total_tokens: int | None = None,
    source_weights: dict[str, float] | None = None,
    max_epochs: float = 4.0,
    max_epochs_per_source: dict[str, float] | None = None,
) -> MixPlan:
    """Targets that meet `ratios` over categories; within a category, `source_weights` or natural shares.

    Without `total_tokens` the budget is the largest the scarcest category allows in one epoch.
    Raises InfeasibleMix naming the source, and by how much, when a cap would be exceeded.
    """
    weights = source_weights or {}
    caps = max_epochs_per_source or {}
    unknown = set(weights) - set(stocks)
    if unknown:
        raise InfeasibleMix(f"mix.source_weights names sources with no documents: {sorted(unknown)}")
    share = {category: value / sum(ratios.values()) for category, value in ratios.items()}
    available = {category: sum(s.tokens for s in stocks.values() if s.category == category) for category in share}
    empty = [category for category, tokens in available.items() if tokens == 0]
    if empty:
        raise InfeasibleMix(f"mix.ratios asks for categories with no documents: {empty}")
    budget = float(total_tokens) if total_tokens else min(available[c] / share[c] for c in share)
    category_targets = {category: budget * share[category] for category in share}
    source_targets: dict[str, float] = {}
    for category, target in category_targets.items():
        members = sorted(name for name, s in stocks.items() if s.category == category)
        given = {name: weights[name] for name in members if name in weights}
        if given and len(given) != len(members):
            raise InfeasibleMix(f"mix.source_weights: give a weight to every {category} source or none: {members}")
        natural = {name: float(stocks[name].tokens) for name in members}
        parts = given or natural
        for name in members:
            source_targets[name] = target * parts[name] / sum(parts.values())
    for name, target in source_targets.items():
        cap = caps.get(name, max_epochs)
        epochs = target / stocks[name].tokens if stocks[name].tokens else math.inf
        if epochs > cap + 1e-9:
            limit = budget * cap / epochs
            raise InfeasibleMix(
                f"source {name!r} would need {epochs:.2f} epochs of its {stocks[name].tokens} tokens, over its cap "
                f"of {cap}; lower mix.total_tokens to at most {int(limit)} or raise the cap"
            )
    return MixPlan(budget, category_targets, source_targets)


def source_rng(seed: int, source: str) -> np.random.Generator:
    """A generator that depends only on the master seed and the source's name."""
    return np.random.default_rng([seed, zlib.crc32(source.encode())])


def select_documents(stock: SourceStock, target: float, seed: int) -> np.ndarray:
    """Indices into `stock` (repeats allowed) whose tokens add up as close as possible to `target`.

    Whole epochs first; then, for the fraction, documents in a seeded order are taken while
    they fit (first fit), and finally the one unused document that brings the total closest
    to the target, if any does. The result misses the target by at most half a document.
    """
    if stock.tokens == 0 or target <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = int(target // stock.tokens)
    remaining = target - epochs * stock.tokens
    order = source_rng(seed, stock.source).permutation(len(stock.ids))
    taken = np.zeros(len(order), dtype=bool)
    for position, index in enumerate(order):
        if remaining <= 0:
            break
        if stock.lengths[index] <= remaining:
            taken[position] = True
            remaining -= stock.lengths[index]
    unused = np.flatnonzero(~taken)
    if remaining > 0 and len(unused):
        best = unused[np.argmin(np.abs(stock.lengths[order[unused]] - remaining))]
        if abs(stock.lengths[order[best]] - remaining) < remaining:
            taken[best] = True
    return np.concatenate([np.tile(np.arange(len(stock.ids)), epochs), order[taken]]).astype(np.int64)
