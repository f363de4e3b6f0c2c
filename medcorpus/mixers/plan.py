"""Planning a mix: how many tokens of each source reach the ratios, and which documents supply them."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


class InfeasibleMix(ValueError):
    """The ratios and budget need more of a source than its epoch cap allows."""

    quiet = True  # its message says it all: logged as one line, without a traceback


@dataclass
class SourceStock:
    """The documents one source (or a pool of sources) offers, as arrays: ids sorted, token lengths, locations.

    `ids` is a list of str or a pyarrow string array (compact for millions of documents); `locations`
    holds (input shard, document index) rows; `members` names the pooled sources and `member` gives each
    document's position in it; `restricted` flags credentialed-licence data.
    """

    source: str
    category: str
    ids: Sequence[str] = field(default_factory=list)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    locations: np.ndarray | list = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    restricted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    members: list[str] = field(default_factory=list)
    member: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    def __post_init__(self) -> None:
        count = len(self.ids)
        self.lengths = np.asarray(self.lengths, dtype=np.int64)
        self.locations = np.asarray(self.locations, dtype=np.int64).reshape(-1, 2)
        if len(self.restricted) == 0:
            self.restricted = np.zeros(count, dtype=bool)
        if not self.members:
            self.members = [self.source]
            self.member = np.zeros(count, dtype=np.int32)
        for name, column in (("lengths", self.lengths), ("locations", self.locations), ("restricted", self.restricted)):
            if len(column) != count:
                raise ValueError(f"source {self.source!r}: {len(column)} {name} for {count} ids")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def tokens(self) -> int:
        return int(self.lengths.sum())

    def id_list(self, indices: np.ndarray) -> list[str]:
        """The ids at `indices`, as Python strings."""
        if isinstance(self.ids, list):
            return [self.ids[i] for i in np.asarray(indices).tolist()]
        return self.ids.take(np.asarray(indices, dtype=np.int64)).to_pylist()


@dataclass
class MixPlan:
    """Target tokens per category and source, and the budget they add up to."""

    budget: float
    category_targets: dict[str, float]
    source_targets: dict[str, float]


def plan_for(stocks: dict[str, SourceStock], mix: dict) -> MixPlan:
    """`plan_mix` with the settings of a run config's `mix` section."""
    return plan_mix(
        stocks,
        mix["ratios"],
        mix.get("total_tokens"),
        mix.get("source_weights"),
        mix.get("max_epochs", 4.0),
        mix.get("max_epochs_per_source"),
    )


def plan_totals(totals: dict[str, tuple[str, float]], mix: dict) -> MixPlan:
    """`plan_for` from each source's (category, tokens) alone: all that feasibility and targets depend on."""
    stocks = {
        name: SourceStock(name, category, [name], [round(tokens)], [[0, 0]])
        for name, (category, tokens) in totals.items()
    }
    return plan_for(stocks, mix)


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


def first_fit(lengths: np.ndarray, remaining: float) -> tuple[np.ndarray, float]:
    """Positions taken by first fit over `lengths` in order (take each one that still fits), and the gap left.

    Vectorized: a run of documents that fit is taken at once; after the first that does not, only the
    later ones no longer than the gap can ever fit, so the scan goes on over those.
    """
    taken = np.zeros(len(lengths), dtype=bool)
    candidates = np.arange(len(lengths))
    while remaining > 0 and len(candidates):
        sums = np.cumsum(lengths[candidates])
        fit = int(np.searchsorted(sums, remaining, side="left"))  # the first whose running total reaches the gap
        fit += int(fit < len(sums) and sums[fit] == remaining)  # ...is taken when it fills it exactly
        taken[candidates[:fit]] = True
        if fit:
            remaining -= float(sums[fit - 1])
        rest = candidates[fit + 1 :]
        candidates = rest[lengths[rest] <= remaining]
    return taken, remaining


def select_documents(stock: SourceStock, target: float, seed: int) -> np.ndarray:
    """Indices into `stock` (repeats allowed) whose tokens add up as close as possible to `target`.

    Whole epochs first; then, for the fraction, documents in a seeded order are taken while
    they fit (first fit), and finally the one unused document that brings the total closest
    to the target, if any does. The result misses the target by at most half a document, and
    in practice by a few tokens when short documents remain.
    """
    if stock.tokens == 0 or target <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = int(target // stock.tokens)
    order = source_rng(seed, stock.source).permutation(len(stock))
    taken, remaining = first_fit(stock.lengths[order], target - epochs * stock.tokens)
    unused = np.flatnonzero(~taken)
    if remaining > 0 and len(unused):
        best = unused[np.argmin(np.abs(stock.lengths[order[unused]] - remaining))]
        if abs(stock.lengths[order[best]] - remaining) < remaining:
            taken[best] = True
    return np.concatenate([np.tile(np.arange(len(stock), dtype=np.int64), epochs), order[taken]]).astype(np.int64)
