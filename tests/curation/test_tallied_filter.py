"""`TalliedFilter.run` keeps the stats datatrove's `BaseFilter.run` keeps, and filters alike."""

from __future__ import annotations

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from medcorpus.curation.tallied_filter import TalliedFilter
from medcorpus.io.formats import make_reader, make_writer


class _Rule:
    """Drops a text whose length is a multiple of 5 (reason "five") or of 7 (no reason); counts its own stat."""

    def filter(self, document: Document):
        self.stat_update("odd" if len(document.text) % 2 else "even")
        if len(document.text) % 5 == 0:
            return False, "five"
        return len(document.text) % 7 != 0


class _Tallied(_Rule, TalliedFilter):
    name = "rule"


class _Plain(_Rule, BaseFilter):
    name = "rule"


def _documents() -> list[Document]:
    lengths = [3, 10, 7, 8, 14, 1, 25, 2, 9, 35, 4, 6, 11]
    return [
        Document(text="x" * n, id=f"d{i}", metadata={"source": "s"} | ({"token_count": n // 2} if i % 3 else {}))
        for i, n in enumerate(lengths)
    ]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_the_same_stats_documents_and_exclusions_as_datatrove(tmp_path, batch_size):
    outputs = {}
    for kind in (_Tallied, _Plain):
        step = kind(exclusion_writer=make_writer(str(tmp_path / kind.__name__)), batch_size=batch_size)
        kept = []
        for rank in (0, 1):  # two tasks in turn, as a pool worker runs them: the stats add up
            kept += [(d.id, d.text) for d in step.run(iter(_documents()), rank)]
        excluded = sorted(
            (d.id, d.metadata.get("filter_reason")) for d in make_reader(str(tmp_path / kind.__name__)).run()
        )
        outputs[kind] = (kept, excluded, list(step.stats.stats.to_dict().items()))
    assert outputs[_Tallied] == outputs[_Plain]
    kept, excluded, stats = outputs[_Tallied]
    assert len(kept) == 2 * 8 and ("d1", "five") in excluded and ("d2", None) in excluded
    names = [name for name, _ in stats]
    assert names.index("dropped") < names.index("dropped_five") and "doc_len_tokens" in names
    assert ("batches" in names) == (batch_size > 1)


def test_stats_are_kept_when_the_consumer_stops_early():
    step = _Tallied()
    for number, _document in enumerate(step.run(iter(_documents()))):
        if number == 2:
            break
    reference = _Plain()
    for number, _document in enumerate(reference.run(iter(_documents()))):
        if number == 2:
            break
    assert step.stats.stats.to_dict() == reference.stats.stats.to_dict()
