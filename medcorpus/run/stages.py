"""Building stages: the same datatrove steps serve the per-stage CLI commands and config runs.

A stage writes its documents to `<out>/<source>/<file>`, what it removed to `<out>/excluded/`,
its counts to `<out>/stats/` and datatrove's logs to `<out>/logs/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from medcorpus.curation.clean.cleaner import TextCleaner
from medcorpus.curation.decontam.decontaminator import Decontaminator
from medcorpus.curation.dedup.exact import exact_dedup_steps
from medcorpus.curation.language.filter import LanguageFilter
from medcorpus.curation.quality.filter import QualityFilter
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import CurationConfig, SourceConfig, TokenizerConfig
from medcorpus.run.counts import StageCounter
from medcorpus.sources import reader_class
from medcorpus.sources.mimic.split import MimicPartReader, MimicSplitter, csv_inputs


@dataclass
class Stage:
    """A named stage: datatrove pipelines run one after another, each as (steps, tasks)."""

    name: str
    output: str
    pipelines: list[tuple[list[PipelineStep], int]] = field(default_factory=list)
    kind: str = "documents"  # "documents", "shards" or "manifest"


def _counter(out: str, tokenizer: TokenizerConfig | None, sub: str = "") -> StageCounter:
    stats = str(Path(out) / "stats" / sub) if sub else str(Path(out) / "stats")
    if tokenizer is None:
        return StageCounter(stats)
    return StageCounter(stats, tokenizer.name, tokenizer.add_bos, tokenizer.add_eos)


def source_stage(
    sources: dict[str, SourceConfig], out: str, fmt: str, tasks: int, tokenizer: TokenizerConfig | None
) -> Stage:
    """Read every configured source (one pipeline each) into intermediate documents.

    PubMed sources are read into `work/` first; once every source is read (PMC included),
    their update semantics and PMC links are resolved and the kept documents written out.
    """
    stage = Stage("sources", out)
    pmc_output = [str(Path(out) / "pmc")] if any(s.type == "pmc" for s in sources.values()) else []
    resolutions: list[tuple[list[PipelineStep], int]] = []
    for name, source in sources.items():
        filename = "${source}/" + name + "_${rank}"
        excluded = make_writer(str(Path(out) / "excluded"), fmt, filename)
        reader = reader_class(source.type)(source.inputs, exclusion_writer=excluded, **source.options)
        count = max(1, min(tasks, len(reader.files)))
        tail = [_counter(out, tokenizer, name), make_writer(out, fmt, filename)]
        if source.type == "pubmed" and (reader.apply_updates or reader.drop_with_pmc_full_text):
            from medcorpus.sources.pubmed.resolver import PubMedResolver
            from medcorpus.sources.pubmed.updates import RESOLVED_FILE, ResolveVersions, VersionLedger

            work = Path(out) / "work" / name
            if reader.apply_updates:
                reader.ledger = VersionLedger(str(work / "ledger"))
            stage.pipelines.append(([reader, make_writer(str(work / "documents"), fmt, filename)], count))
            pmc = pmc_output + reader.pmc_folders if reader.drop_with_pmc_full_text else []
            resolved = str(work / RESOLVED_FILE)
            dropped = make_writer(str(Path(out) / "excluded"), fmt, "${source}/" + name + "_resolved_${rank}")
            resolutions.append(([ResolveVersions(str(work / "ledger"), resolved, pmc)], 1))
            resolutions.append(
                ([make_reader(str(work / "documents"), fmt), PubMedResolver(resolved, dropped), *tail], count)
            )
        elif source.type == "mimic" and csv_inputs(reader.files):
            files = [
                _counter(out, tokenizer, name + "/files"),
                make_writer(out, fmt, "${source}/" + name + "_files_${rank}"),
            ]
            stage.pipelines += mimic_pipelines(reader, name, source.options, out, fmt, tasks, tail, files)
        else:
            stage.pipelines.append(([reader, *tail], count))
    stage.pipelines += resolutions
    return stage


def mimic_pipelines(
    reader, name: str, options: dict, out: str, fmt: str, tasks: int, tail: list, files_tail: list
) -> list[tuple[list[PipelineStep], int]]:
    """MIMIC CSVs: a splitting pass (one task per file) into Parquet parts, then `tasks` tasks read the parts.

    MIMIC-CXR reports and zips are read per file, as before, ending in `files_tail`.
    """
    split = csv_inputs(reader.files)
    parts = str(Path(out) / "work" / name / "parts")

    def excluded(kind: str) -> PipelineStep:
        return make_writer(str(Path(out) / "excluded"), fmt, "${source}/" + name + f"_{kind}_" + "${rank}")

    pipelines = [
        ([MimicSplitter(split, parts, excluded("split"), **options)], len(split)),
        ([MimicPartReader(parts, len(split), excluded("parts")), *tail], tasks),
    ]
    others = [path for path in reader.files if path not in split]
    if others:
        reader.files = others
        pipelines.append(([reader, *files_tail], max(1, min(tasks, len(others)))))
    return pipelines


def curation_filter(step: str, params: dict, seed: int, excluded) -> PipelineStep:
    """The datatrove step for one single-pass curation step."""
    if step == "clean":
        return TextCleaner(**{k: v for k, v in params.items() if k != "boilerplate"}, exclusion_writer=excluded)
    if step == "lang":
        return LanguageFilter(**params, seed=seed, exclusion_writer=excluded)
    if step == "quality":
        return QualityFilter(**params, exclusion_writer=excluded)
    if step == "decontam":
        return Decontaminator(**params, exclusion_writer=excluded)
    if step == "deid":
        from medcorpus.curation.deid.deidentifier import Deidentifier

        return Deidentifier(**params, seed=seed)
    raise ValueError(f"unknown curation step {step!r}")


def curation_stage(
    step: str,
    params: dict,
    inputs: list[str],
    out: str,
    fmt: str,
    tasks: int,
    seed: int,
    tokenizer: TokenizerConfig | None,
) -> Stage:
    """One curation step over intermediate folders `inputs`, written to `out`."""

    def readers() -> list[PipelineStep]:
        return [make_reader(folder, fmt) for folder in inputs]

    excluded = make_writer(str(Path(out) / "excluded"), fmt, reason="exact_duplicate" if step == "dedup" else step)
    tail = [_counter(out, tokenizer), make_writer(out, fmt)]
    if step == "dedup":
        work = Path(out) / "work"
        signature, find, drop = exact_dedup_steps(
            str(work / "signatures"), str(work / "duplicates"), **params, exclusion_writer=excluded
        )
        return Stage(step, out, [(readers() + [signature], tasks), ([find], 1), (readers() + [drop] + tail, tasks)])
    if step == "near_dedup":
        from medcorpus.curation.dedup.near.pipeline import near_dedup_pipelines

        return Stage(step, out, near_dedup_pipelines(readers, str(Path(out) / "work"), params, tasks, excluded, tail))
    if step == "clean" and params.get("boilerplate"):
        from medcorpus.curation.clean.boilerplate import boilerplate_pipelines

        cleaner = curation_filter(step, params, seed, excluded)
        return Stage(step, out, boilerplate_pipelines(readers, cleaner, out, fmt, params["boilerplate"], tasks, tail))
    if step == "decontam" and tokenizer is not None:
        params = params | {"tokenizer": tokenizer.name}  # tokens of the documents each benchmark hit
    return Stage(step, out, [(readers() + [curation_filter(step, params, seed, excluded)] + tail, tasks)])


def curation_params(curation: CurationConfig, step: str) -> dict | None:
    """Parameters of a curation step as keyword arguments, or None when it is disabled."""
    settings = getattr(curation, step)
    return None if settings is None else settings.model_dump()


def tokenize_stage(inputs: list[str], out: str, fmt: str, tasks: int, tokenizer: TokenizerConfig) -> Stage:
    """Tokenize documents into Megatron shards with per-document provenance."""
    from medcorpus.tokenize.step import ShardTokenizer

    steps = [make_reader(folder, fmt) for folder in inputs]
    steps.append(
        ShardTokenizer(
            out,
            tokenizer.name,
            tokenizer.add_bos,
            tokenizer.add_eos,
            eod_id=tokenizer.eod_id,
            eod_token=tokenizer.eod_token,
        )
    )
    return Stage("tokenize", out, [(steps, tasks)], kind="shards")


def mix_stage(inputs: list[str], out: str, mix: dict, seed: int, vocab_size: int) -> Stage:
    """Mix tokenized sources by token ratios into the final shards (one task)."""
    from medcorpus.mixers import TokenMixer

    return Stage("mix", out, [([TokenMixer(inputs, out, mix, seed, vocab_size)], 1)], kind="shards")
