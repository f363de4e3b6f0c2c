"""Per-stage counts (documents, characters, tokens, by source) and exclusions, read back for the manifest."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.io.atomic import atomic_write_text
from medcorpus.io.formats import detect_format


class StageCounter(PipelineStep):
    """Counts the documents a stage outputs, by source, into `<stats_dir>/<rank>.json`.

    Placed just before a stage's writer. With a tokenizer name it also counts tokens
    (with that tokenizer's BOS/EOS policy), so every stage reports tokens in and out.
    """

    type = "📊 - STATS"
    name = "stage counter"

    def __init__(self, stats_dir: str, tokenizer: str | None = None, add_bos: bool = True, add_eos: bool = True):
        super().__init__()
        self.stats_dir = stats_dir
        self.tokenizer = tokenizer
        self.add_bos = add_bos
        self.add_eos = add_eos

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        counts: dict[str, Counter] = defaultdict(Counter)
        encoder = None
        if self.tokenizer:
            from medcorpus.tokenize import load_tokenizer

            encoder = load_tokenizer(self.tokenizer, add_bos=self.add_bos, add_eos=self.add_eos)
        for document in data:
            source = counts[document.metadata.get("source", "unknown")]
            source["documents"] += 1
            source["characters"] += len(document.text)
            if encoder is not None:
                source["tokens"] += len(encoder.encode_document(document.text))
            yield document
        path = Path(self.stats_dir)
        path.mkdir(parents=True, exist_ok=True)
        payload = {source: dict(sorted(values.items())) for source, values in sorted(counts.items())}
        atomic_write_text(path / f"{rank:05d}.json", json.dumps(payload, indent=1, sort_keys=True))


def read_counts(stats_dir: str | Path) -> dict[str, dict[str, int]]:
    """Sum of the per-rank counts a StageCounter wrote: {source: {documents, characters, tokens}}."""
    total: dict[str, Counter] = defaultdict(Counter)
    for path in sorted(Path(stats_dir).glob("**/*.json")):
        for source, values in json.loads(path.read_text()).items():
            total[source].update(values)
    return {source: dict(values) for source, values in sorted(total.items())}


def read_exclusions(excluded_dir: str | Path) -> dict[str, dict[str, int]]:
    """Excluded documents by source and reason, from a stage's `excluded/` folder."""
    folder = Path(excluded_dir)
    reasons: dict[str, Counter] = defaultdict(Counter)
    if not folder.is_dir():
        return {}
    try:
        fmt = detect_format(str(folder))
    except FileNotFoundError:
        return {}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for path in sorted(folder.glob("*/*.parquet")):
            for raw in pq.read_table(path, columns=["metadata"]).column("metadata").to_pylist():
                metadata = json.loads(raw)
                reasons[metadata.get("source", "unknown")][metadata.get("filter_reason", "unspecified")] += 1
    else:
        import gzip

        for path in sorted(folder.glob("*/*.jsonl.gz")):
            with gzip.open(path, "rt") as handle:
                for line in handle:
                    metadata = json.loads(line).get("metadata", {})
                    reasons[metadata.get("source", "unknown")][metadata.get("filter_reason", "unspecified")] += 1
    return {source: dict(sorted(values.items())) for source, values in sorted(reasons.items())}
