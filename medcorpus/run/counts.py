"""Per-stage counts (documents, characters, tokens, by source) and exclusions, read back for the manifest."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched

from medcorpus.documents import PREVIOUS_TEXT
from medcorpus.documents import STAGE_TOKENS as TOKENS_KEY
from medcorpus.io.atomic import atomic_write_text
from medcorpus.io.formats import detect_format
from medcorpus.run.deferred import Credits, Settlement, settle_changed

BATCH = 256


class StageCounter(PipelineStep):
    """Counts the documents a stage outputs, by source, into `<stats_dir>/<rank>.json`.

    Placed just before a stage's writer. With a tokenizer name it also counts tokens (with that
    tokenizer's BOS/EOS policy), so every stage reports tokens in and out. A document's count travels
    with it (`metadata["stage_tokens"]`: a 64-bit hash of its text, seeded by the tokenizer file and
    policy, and the count), so a later stage tokenizes only the documents whose text changed since:
    exact counts at every stage, for about one tokenization of the corpus instead of one per stage.
    With a `settlement` (config runs that end with a tokenize stage) the counts are deferred to that stage
    instead (`deferred.py`): this counter tokenizes only the texts a step changed since the last counter.
    """

    type = "📊 - STATS"
    name = "stage counter"

    def __init__(
        self,
        stats_dir: str,
        tokenizer: str | None = None,
        add_bos: bool = True,
        add_eos: bool = True,
        settlement: Settlement | None = None,
    ):
        super().__init__()
        self.stats_dir = stats_dir
        self.tokenizer = tokenizer
        self.add_bos = add_bos
        self.add_eos = add_eos
        self.settlement = settlement

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        counts: dict[str, Counter] = defaultdict(Counter)
        credits = None
        if self.settlement is not None:
            credits = Credits(self.settlement, self.stats_dir)
            own = self.settlement.position(self.stats_dir)
            batches = _deferred(data, credits, own) if own > 0 else [_unmarked(data)]
        elif self.tokenizer:
            batches = _counted(data, self.tokenizer, self.add_bos, self.add_eos)
        else:
            batches = [data]
        for batch in batches:
            for document in batch:
                metadata = document.metadata
                metadata.pop(PREVIOUS_TEXT, None)
                source = counts[metadata.get("source", "unknown")]
                source["documents"] += 1
                source["characters"] += len(document.text)
                if self.settlement is not None:
                    source["tokens"] += 0  # settled later, into stats/settled/
                elif self.tokenizer:
                    source["tokens"] += metadata[TOKENS_KEY][1]
                yield document
        if credits is not None:
            credits.write(rank)
        path = Path(self.stats_dir)
        path.mkdir(parents=True, exist_ok=True)
        payload = {source: dict(sorted(values.items())) for source, values in sorted(counts.items())}
        atomic_write_text(path / f"{rank:05d}.json", json.dumps(payload, indent=1, sort_keys=True))


def _counted(data: DocumentsPipeline, tokenizer: str, add_bos: bool, add_eos: bool):
    """Batches of documents, each with its `stage_tokens` set: carried over where the text is unchanged,
    else counted (the batch's changed texts encoded in one call)."""
    import xxhash

    from medcorpus.tokenize import load_tokenizer

    encoder = load_tokenizer(tokenizer, add_bos=add_bos, add_eos=add_eos)
    seed = xxhash.xxh3_64_intdigest(f"{encoder.sha256}:{encoder.policy}".encode())
    for batch in batched(data, BATCH):
        changed = []
        for document in batch:
            digest = xxhash.xxh3_64_intdigest(document.text.encode("utf-8", "surrogatepass"), seed)
            cached = document.metadata.get(TOKENS_KEY)
            if not (isinstance(cached, list) and len(cached) == 2 and cached[0] == digest):
                document.metadata[TOKENS_KEY] = [digest, None]
                changed.append(document)
        if changed:
            counts = encoder.encode_flat([document.text for document in changed])[1].tolist()
            for document, count in zip(changed, counts):
                document.metadata[TOKENS_KEY][1] = count
        yield batch


def _unmarked(data: DocumentsPipeline) -> DocumentsPipeline:
    """The sources stage's documents without a `stage_tokens` entry (one read from another run's output would
    name that run's stages): pending since the sources stage (`deferred.py`)."""
    for document in data:
        document.metadata.pop(TOKENS_KEY, None)
        yield document


def _deferred(data: DocumentsPipeline, credits: Credits, own: int):
    """Batches of documents marked pending (`deferred.py`), the counts of texts changed since settled."""
    for batch in batched(data, BATCH):
        settle_changed(batch, credits, own)
        yield batch


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
