"""Sizing a run before it starts: documents and tokens per source, the mix, disk and CPU time per stage.

For each source a seeded sample of its input files (`sample_files`, whole files) is read with the source's
own reader and passed through the single-document curation steps (clean, lang, quality); what they keep
is tokenized with the run's tokenizer (in an SFT run with its chat template). Counts scale by input bytes:
a source whose inputs total B bytes, of which the sample read b, is estimated at (B / b) times the
sample's documents, characters and tokens.
Not estimated: what cross-document steps remove (exact and near duplicates, repeated boilerplate lines,
PubMed abstracts whose full text PMC gives), so documents and tokens are upper bounds. The mix is then
planned on the estimates exactly as the mixer plans it (`plan_for`). CPU seconds per stage come from the
sample's own timing where the stage ran on it (sources, clean, lang, quality, tokenize) and from the
per-core rates measured in `benchmarks/` for the rest (`BENCHMARK_MB_PER_S`); the mix has no measured
rate and its CPU time is left out. Disk: one Parquet copy of the kept documents per stage (the sample's
own compressed size), MinHash signatures, and the shards' token ids.
"""

from __future__ import annotations

import io
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from medcorpus.documents import CATEGORIES
from medcorpus.mixers.plan import InfeasibleMix, plan_totals
from medcorpus.paths import InputError, expand_inputs
from medcorpus.run.config import STEP_ORDER, ConfigError, RunConfig
from medcorpus.sources import reader_class
from medcorpus.tokenize.shards import token_dtype

SAMPLED_STEPS = ("clean", "lang", "quality")
# Per-core rates measured by benchmarks/ (benchmarks/README.md), for the stages the sample does not run;
# the lower end of each measured range.
BENCHMARK_MB_PER_S = {"dedup": 46.0, "near_dedup": 11.0, "deid": 0.95, "decontam": 10.4}
NEAR_DEDUP_S_PER_MILLION_DOCUMENTS = 80.0  # clustering, on top of the signatures (bench_near_dedup.py)
MINHASH_BYTES_PER_DOCUMENT = 1720  # signatures on disk: 1.72 GB per million documents (bench_near_dedup.py)
SHARD_BYTES_PER_DOCUMENT = 12 + 120  # .idx sizes and pointers, plus the .docs.parquet provenance row


@dataclass
class SourcePlan:
    """One configured source: its inputs and what a sample of them says about the whole."""

    name: str
    type: str
    files: int = 0
    input_bytes: int = 0
    sampled_files: int = 0
    sampled_bytes: int = 0
    missing: str | None = None
    documents: dict[str, float] = field(default_factory=dict)  # document source -> estimated documents kept
    characters: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    read: float = 0.0  # estimated documents read, before the sampled curation steps
    categories: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # estimated CPU seconds per sampled stage
    parquet_bytes: float = 0.0  # estimated size of one intermediate copy of the kept documents


def sample_source(name: str, config: RunConfig, tokenizer, sample_files: int, seed: int) -> SourcePlan:
    """Read a seeded sample of one source's files and scale what it finds to all of them.

    Files are grouped by kind (their suffixes: HTML pages and PDFs differ in text per byte) and each
    group is sampled and scaled on its own."""
    source = config.sources[name]
    plan = SourcePlan(name, source.type)
    try:
        files = expand_inputs(source.inputs, reader_class(source.type).suffixes)
    except InputError as error:
        hint = f"; `medcorpus fetch CONFIG --only {name}` gets them" if source.fetch is not None else ""
        plan.missing = f"{error}{hint}"
        return plan
    sizes = {path: Path(path).stat().st_size for path in files}
    groups: dict[str, list[str]] = {}
    for path in files:
        groups.setdefault("".join(Path(path).suffixes[-2:]).lower(), []).append(path)
    plan.files, plan.input_bytes = len(files), sum(sizes.values())
    for kind, members in sorted(groups.items()):
        chosen = sorted(random.Random(f"{seed}:{name}:{kind}").sample(members, min(sample_files, len(members))))
        sampled = sum(sizes[path] for path in chosen)
        plan.sampled_files += len(chosen)
        plan.sampled_bytes += sampled
        _sample(plan, config, source, chosen, tokenizer, sum(sizes[p] for p in members) / sampled if sampled else 0.0)
    return plan


def _sample(plan: SourcePlan, config: RunConfig, source, files: list[str], tokenizer, scale: float) -> None:
    """Read `files`, run the sampled steps and the tokenizer on them, and add the counts times `scale`."""
    from medcorpus.run.stages import curation_filter

    reader_type = reader_class(source.type)

    def timed(stage: str, work):
        started = time.process_time()
        result = work()
        plan.seconds[stage] = plan.seconds.get(stage, 0.0) + (time.process_time() - started) * scale
        return result

    documents = timed("sources", lambda: list(reader_type(files, **source.options).run()))
    plan.read += len(documents) * scale
    for step in SAMPLED_STEPS:
        params = getattr(config.curation, step)
        if params is not None and documents:
            steps = curation_filter(step, params.model_dump(), config.seed, None)
            documents = timed(step, lambda steps=steps, documents=documents: list(steps.run(iter(documents))))
    lengths = timed("tokenize", lambda: token_lengths(tokenizer, documents))
    for document, length in zip(documents, lengths):
        key = str(document.metadata.get("source", plan.name))
        plan.categories[key] = str(document.metadata.get("category", reader_type.category))
        plan.documents[key] = plan.documents.get(key, 0.0) + scale
        plan.characters[key] = plan.characters.get(key, 0.0) + len(document.text) * scale
        plan.tokens[key] = plan.tokens.get(key, 0.0) + length * scale
    plan.parquet_bytes += _parquet_size(documents) * scale


def token_lengths(tokenizer, documents: list) -> list[int]:
    """Tokens of each document as the tokenize stage writes it: with the run's tokenizer, or with an SFT run's
    chat encoder (template included; 0 for an example the template refuses, which the stage excludes)."""
    from medcorpus.tokenize.chat import ChatEncoder, ChatError

    if not isinstance(tokenizer, ChatEncoder):
        return tokenizer.encode_flat([document.text for document in documents])[1].tolist()
    lengths = []
    for document in documents:
        try:
            lengths.append(len(tokenizer.encode(document.metadata.get("turns") or [])[0]))
        except ChatError:
            lengths.append(0)
    return lengths


def _parquet_size(documents: list) -> int:
    """Bytes of the documents as an intermediate Parquet file (zstd), written in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not documents:
        return 0
    table = pa.table({"id": [str(d.id) for d in documents], "text": [d.text for d in documents]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.tell()


@dataclass
class RunPlan:
    """The plan of a whole run: sources, the mix on their estimates, and per-stage CPU and disk."""

    sources: list[SourcePlan]
    mix: dict
    stages: dict[str, dict[str, float]]

    def as_dict(self) -> dict:
        return {
            "sources": [vars(source) for source in self.sources],
            "mix": self.mix,
            "stages": self.stages,
            "total": {
                "cpu_hours": sum(s["cpu_seconds"] for s in self.stages.values()) / 3600,
                "disk_gb": sum(s["disk_bytes"] for s in self.stages.values()) / 1e9,
            },
        }


def offered_categories(config: RunConfig) -> set[str]:
    """The categories of the configured sources' documents."""
    return {source.options.get("category", reader_class(source.type).category) for source in config.sources.values()}


def check_categories(config: RunConfig) -> None:
    """Fail up front when the ratios ask for a category no configured source can give."""
    offered = offered_categories(config)
    wanted = [category for category in CATEGORIES if category in config.mix.ratios]
    missing = [category for category in wanted if category not in offered]
    if missing:
        raise ConfigError(f"mix.ratios asks for categories no source gives: {missing}")


def estimate_run(config: RunConfig, sample_files: int = 2, seed: int | None = None) -> RunPlan:
    """Sample every source, plan the mix on the estimates, and size each stage."""
    from medcorpus.run.stages import chat_encoder

    check_categories(config)
    tokenizer = chat_encoder(config.tokenizer, config.sft) if config.sft else config.tokenizer.load()
    seed = config.seed if seed is None else seed
    sources = [sample_source(name, config, tokenizer, sample_files, seed) for name in config.sources]
    mix = _mix(config, sources)
    vocab_size = tokenizer.tokenizer.vocab_size if config.sft else tokenizer.vocab_size
    token_bytes = token_dtype(vocab_size).itemsize + (1 if config.sft else 0)  # token ids (and SFT loss masks)
    return RunPlan(sources, mix, _stages(config, sources, mix, token_bytes))


def _mix(config: RunConfig, sources: list[SourcePlan]) -> dict:
    totals: dict[str, tuple[str, float]] = {}
    for source in sources:
        for key, value in source.tokens.items():
            totals[key] = (source.categories[key], totals.get(key, ("", 0.0))[1] + value)
    totals = {key: value for key, value in totals.items() if value[0] in config.mix.ratios}
    try:
        plan = plan_totals(totals, config.mix.model_dump())
    except InfeasibleMix as error:
        return {"feasible": False, "error": str(error)}
    available = {key: round(tokens) for key, (_category, tokens) in totals.items()}
    epochs = {key: target / available[key] for key, target in plan.source_targets.items() if available[key]}
    return {
        "feasible": True,
        "total_tokens": round(plan.budget),
        "largest_total_tokens": round(plan_totals(totals, config.mix.model_dump() | {"total_tokens": None}).budget),
        "category_tokens": {c: round(v) for c, v in plan.category_targets.items()},
        "source_tokens": {k: round(v) for k, v in plan.source_targets.items()},
        "epochs": {k: round(v, 3) for k, v in epochs.items()},
    }


def _stages(config: RunConfig, sources: list[SourcePlan], mix: dict, token_bytes: int) -> dict[str, dict[str, float]]:
    """CPU seconds and disk bytes per stage, in run order (the mix's CPU time is not estimated)."""
    documents = sum(sum(s.documents.values()) for s in sources)
    megabytes = sum(sum(s.characters.values()) for s in sources) / 1e6
    clinical_mb = sum(v for s in sources for k, v in s.characters.items() if s.categories.get(k) == "clinical") / 1e6
    copy = sum(s.parquet_bytes for s in sources)
    tokens = sum(sum(s.tokens.values()) for s in sources)
    stages = {"sources": {"cpu_seconds": sum(s.seconds.get("sources", 0.0) for s in sources), "disk_bytes": copy}}
    for step in STEP_ORDER:
        if getattr(config.curation, step) is None:
            continue
        if step in SAMPLED_STEPS:
            seconds = sum(s.seconds.get(step, 0.0) for s in sources)
        else:
            seconds = (clinical_mb if step == "deid" else megabytes) / BENCHMARK_MB_PER_S[step]
            seconds += documents / 1e6 * NEAR_DEDUP_S_PER_MILLION_DOCUMENTS if step == "near_dedup" else 0.0
        extra = documents * MINHASH_BYTES_PER_DOCUMENT if step == "near_dedup" else 0.0
        stages[step] = {"cpu_seconds": seconds, "disk_bytes": copy + extra}
    stages["tokenize"] = {
        "cpu_seconds": sum(s.seconds.get("tokenize", 0.0) for s in sources),
        "disk_bytes": tokens * token_bytes + documents * SHARD_BYTES_PER_DOCUMENT,
    }
    mixed = mix.get("total_tokens", 0) if mix.get("feasible") else 0
    stages["mix"] = {"cpu_seconds": 0.0, "disk_bytes": mixed * token_bytes}  # no measured rate: CPU not estimated
    return stages
