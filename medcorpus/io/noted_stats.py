"""datatrove's per-document stats, noted as plain Python values and added in one go.

datatrove's steps call `stat_update` and `update_doc_stats` for every document, a few microseconds each. Our
writers, filters, readers and shard step note the same counts and values as they go and add them to the step's
stats when they finish: the same numbers as datatrove's one document at a time (each stat's running mean and
variance taken over its values in the same order), with each stat created where datatrove would first create it,
so the saved stats are the same too (`tests/io/test_io.py`, `tests/curation/test_tallied_filter.py`).
"""

from __future__ import annotations

from datatrove.utils.stats import MetricStatsDict


def add_ones(stats: MetricStatsDict, name: str, count: int) -> None:
    """`stats[name].update(1)` `count` times."""
    if not count:
        return
    stat = stats[name]
    if stat.n == 0 or (stat.total == stat.n and stat.min == stat.max == 1):  # all ones so far: exactly so
        stat.total, stat.n, stat.mean, stat.min, stat.max = stat.total + count, stat.n + count, 1.0, 1, 1
    else:
        add_values(stats, name, [1] * count, None)


def add_values(stats: MetricStatsDict, name: str, values: list, unit: str | None) -> None:
    """`stats[name].update(value, unit)` for each value in turn (datatrove's running mean and variance), in one loop."""
    if not values:
        return
    stat = stats[name]
    if unit:
        stat.unit = unit
    total, n, mean, low, high, variance = stat.total, stat.n, stat.mean, stat.min, stat.max, stat._running_variance
    for value in values:
        total += value
        n += 1
        low = min(low, value)
        high = max(high, value)
        delta = value - mean
        mean += delta / n
        if n > 1:
            variance += delta * (value - mean)
    stat.total, stat.n, stat.mean, stat.min, stat.max, stat._running_variance = total, n, mean, low, high, variance


class NotedDocStats:
    """A reader's `update_doc_stats` (each document's length, and token count when it has one) noted as plain
    values; the reader calls `add_noted_doc_stats` when its run ends."""

    def update_doc_stats(self, document) -> None:
        noted = self.__dict__.get("_noted_docs")
        if noted is None:
            noted = self.__dict__["_noted_docs"] = ([], [])
            self.stats.stats["doc_len"]  # created where datatrove's first update would create it
        noted[0].append(len(document.text))
        if token_count := document.metadata.get("token_count", None):
            if not noted[1]:
                self.stats.stats["doc_len_tokens"]
            noted[1].append(token_count)

    def add_noted_doc_stats(self) -> None:
        noted = self.__dict__.pop("_noted_docs", None)
        if noted is not None:
            add_values(self.stats.stats, "doc_len", noted[0], "doc")
            add_values(self.stats.stats, "doc_len_tokens", noted[1], "doc")
