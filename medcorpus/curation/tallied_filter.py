"""datatrove's `BaseFilter`, with its per-document stats noted and added when the filter finishes.

`BaseFilter.run` adds "total", "forwarded" or "dropped" (and "dropped_<reason>"), and the forwarded document's
length, to the step's stats one document at a time. `TalliedFilter.run` does the same filtering, batching,
timing and exclusion writing, and notes those counts as plain values (`io/noted_stats.py`): the same stats,
created in the same order (`tests/curation/test_tallied_filter.py` runs both on the same documents).
"""

from __future__ import annotations

import contextlib
from collections import Counter

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter, get_filter_result
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints

from medcorpus.io.noted_stats import NotedDocStats, add_ones


class TalliedFilter(NotedDocStats, BaseFilter):
    """A `BaseFilter` whose per-document stats cost a few additions and a list append instead of a few `MetricStats`
    updates."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        stats = self.stats.stats  # a stat is created (`stats[name]`) where datatrove would first add to it
        batches = total = forwarded = dropped = 0
        reasons: Counter = Counter()
        try:
            with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
                for batch in batched(data, self.batch_size):
                    if self.batch_size > 1:
                        if not batches:
                            stats["batches"]
                        batches += 1
                    with self.track_time("batch" if self.batch_size > 1 else None):
                        results = self.filter_batch(batch)
                    for document, result in zip(batch, results):
                        if not total:
                            stats[StatHints.total]
                        total += 1
                        kept, reason = get_filter_result(result)
                        if kept:
                            if not forwarded:
                                stats[StatHints.forwarded]
                            forwarded += 1
                            self.update_doc_stats(document)
                            yield document
                            continue
                        if not dropped:
                            stats[StatHints.dropped]
                        dropped += 1
                        if reason:
                            if reason not in reasons:
                                stats[f"dropped_{reason}"]
                            reasons[reason] += 1
                        if self.exclusion_writer:
                            if reason:
                                document.metadata["filter_reason"] = reason
                            writer.write(document, rank)
        finally:
            for name, count in (("batches", batches), (StatHints.total, total), (StatHints.forwarded, forwarded)):
                add_ones(stats, name, count)
            add_ones(stats, StatHints.dropped, dropped)
            for reason, count in reasons.items():
                add_ones(stats, f"dropped_{reason}", count)
            self.add_noted_doc_stats()
