"""Building stages: the same datatrove steps serve the per-stage CLI commands and config runs.

A stage writes its documents to `<out>/<source>/<file>`, what it removed to `<out>/excluded/`,
its counts to `<out>/stats/` and datatrove's logs to `<out>/logs/`; `StageContext` hands out
the writers and counters for that layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.clean.cleaner import TextCleaner
from medcorpus.curation.decontam.decontaminator import Decontaminator
from medcorpus.curation.dedup.exact import FieldSignatures, exact_dedup_steps
from medcorpus.curation.language.filter import LanguageFilter
from medcorpus.curation.quality.filter import QualityFilter
from medcorpus.io.formats import DOCUMENTS, SUFFIX
from medcorpus.paths import is_remote
from medcorpus.run.ahead import Ahead, SignAhead
from medcorpus.run.config import ConfigError, CurationConfig, SftConfig, SourceConfig, TokenizerConfig
from medcorpus.run.context import StageContext
from medcorpus.run.counts import StageCounter
from medcorpus.sources import reader_class
from medcorpus.sources.mimic.split import MimicPartReader, MimicSplitter, csv_inputs

Pipelines = list[tuple[list[PipelineStep], int]]


@dataclass
class Stage:
    """A named stage: datatrove pipelines run one after another, each as (steps, tasks)."""

    name: str
    output: str
    pipelines: Pipelines = field(default_factory=list)
    kind: str = "documents"  # "documents", "shards" or "manifest"
    # a step run inside another stage's pipeline (see `fused_stages`): the folder whose logs hold its step
    # counts, and its step's name among them
    steps_in: str | None = None
    step_name: str | None = None


def source_stage(sources: dict[str, SourceConfig], ctx: StageContext) -> Stage:
    """Read every configured source (one pipeline each) into intermediate documents.

    PubMed sources are read into `work/` first; once every source is read (PMC included),
    their update semantics and PMC links are resolved and the kept documents written out.
    """
    stage = Stage("sources", ctx.out)
    pmc_output = [ctx.path("pmc")] if any(s.type == "pmc" for s in sources.values()) else []
    resolutions: Pipelines = []
    for name, source in sources.items():
        filename = "${source}/" + name + "_${rank}"
        reader = reader_class(source.type)(source.inputs, exclusion_writer=ctx.excluded(filename), **source.options)
        count = max(1, min(ctx.tasks, len(reader.files)))
        tail = ctx.tail(filename, sub=name)
        if source.type == "pubmed" and (reader.apply_updates or reader.drop_with_pmc_full_text):
            stage.pipelines.append(pubmed_read(reader, name, ctx, count))
            resolutions += pubmed_resolution(reader, name, ctx, count, pmc_output, tail)
        elif source.type == "mimic" and csv_inputs(reader.files):
            stage.pipelines += mimic_pipelines(reader, name, source.options, ctx, tail)
        else:
            stage.pipelines.append(([reader, *tail], count))
    stage.pipelines += resolutions
    return stage


def pubmed_read(reader, name: str, ctx: StageContext, count: int) -> tuple[list[PipelineStep], int]:
    """PubMed with updates or PMC links, first pass: parse into `work/<name>/documents`, noting versions."""
    from medcorpus.sources.pubmed.updates import VersionLedger

    work = Path(ctx.path("work", name))
    if reader.apply_updates:
        reader.ledger = VersionLedger(str(work / "ledger"))
    return [reader, ctx.writer("${source}/" + name + "_${rank}", folder=str(work / "documents"))], count


def pubmed_resolution(reader, name: str, ctx: StageContext, count: int, pmc_output: list[str], tail: list) -> Pipelines:
    """Once every source is read: settle each PMID's version and PMC link, then keep the winners."""
    from medcorpus.sources.pubmed.publish import PublishUnresolved
    from medcorpus.sources.pubmed.resolver import PubMedResolver
    from medcorpus.sources.pubmed.updates import RESOLVED_FILE, ResolveVersions

    work = Path(ctx.path("work", name))
    pmc = pmc_output + reader.pmc_folders if reader.drop_with_pmc_full_text else []
    resolved = str(work / RESOLVED_FILE)
    dropped = ctx.excluded("${source}/" + name + "_resolved_${rank}")
    resolve: list[PipelineStep] = [ResolveVersions(str(work / "ledger"), resolved, pmc)]
    if ctx.fmt == "parquet" and (ctx.tokenizer is None or ctx.settlement is not None):  # the counter changes nothing
        stats, tokens = ctx.path("stats", name), ctx.tokenizer is not None
        resolve.append(PublishUnresolved(resolved, str(work / "documents"), ctx.out, stats, tokens))
    return [
        (resolve, 1),
        ([ctx.reader(str(work / "documents")), PubMedResolver(resolved, dropped), *tail], count),
    ]


def mimic_pipelines(reader, name: str, options: dict, ctx: StageContext, tail: list) -> Pipelines:
    """MIMIC CSVs: a splitting pass (one task per file) into Parquet parts, then `tasks` tasks read the parts.

    MIMIC-CXR reports and zips are read per file, as before, into `<name>_files_<rank>`.
    """
    split = csv_inputs(reader.files)
    parts = ctx.path("work", name, "parts")

    def excluded(kind: str) -> PipelineStep:
        return ctx.excluded("${source}/" + name + f"_{kind}_" + "${rank}")

    pipelines = [
        ([MimicSplitter(split, parts, excluded("split"), **options)], len(split)),
        ([MimicPartReader(parts, len(split), excluded("parts")), *tail], ctx.tasks),
    ]
    others = [path for path in reader.files if path not in split]
    if others:
        reader.files = others
        files_tail = ctx.tail("${source}/" + name + "_files_${rank}", sub=name + "/files")
        pipelines.append(([reader, *files_tail], max(1, min(ctx.tasks, len(others)))))
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


def stage_filter(step: str, params: dict, ctx: StageContext, seed: int) -> PipelineStep:
    """`curation_filter` as a stage runs it: removals into the stage's `excluded/` (reason: the step), and
    decontamination counting the tokens of the documents each benchmark hit with the stage's tokenizer."""
    if step == "decontam" and ctx.tokenizer is not None:
        params = params | {"tokenizer": ctx.tokenizer.name}
    return curation_filter(step, params, seed, ctx.excluded(reason=step))


def curation_stage(step: str, params: dict, inputs: list[str], ctx: StageContext, seed: int) -> Stage:
    """One curation step over intermediate folders `inputs`, written to the context's folder."""

    def readers() -> list[PipelineStep]:
        return [ctx.reader(folder) for folder in inputs]

    excluded = ctx.excluded(reason="exact_duplicate" if step == "dedup" else step)  # the multi-pass steps'
    tail, tasks = ctx.tail(), ctx.tasks
    if step == "dedup":
        signature, find, drop = exact_dedup_steps(
            ctx.path("work", "signatures"), ctx.path("work", "duplicates"), **params, exclusion_writer=excluded
        )
        return Stage(step, ctx.out, [(readers() + [signature], tasks), (find, 1), (readers() + [drop] + tail, tasks)])
    if step == "near_dedup":
        from medcorpus.curation.dedup.near.pipeline import near_dedup_pipelines

        return Stage(step, ctx.out, near_dedup_pipelines(readers, ctx.path("work"), params, tasks, excluded, tail))
    if step == "clean" and params.get("boilerplate"):
        from medcorpus.curation.clean.boilerplate import boilerplate_pipelines

        cleaner = stage_filter(step, params, ctx, seed)
        options = params["boilerplate"]
        pipelines = boilerplate_pipelines(readers, cleaner, ctx.out, ctx.fmt, options, tasks, tail, ctx.settler())
        return Stage(step, ctx.out, pipelines)
    return Stage(step, ctx.out, [(readers() + [stage_filter(step, params, ctx, seed)] + tail, tasks)])


SINGLE_PASS = ("clean", "lang", "quality", "deid", "decontam")


def single_pass(step: str, params: dict) -> bool:
    """Whether a curation step is one pass over its input, so it can share a pipeline with its neighbours."""
    return step in SINGLE_PASS and not (step == "clean" and params.get("boilerplate"))


def fused_stages(
    group: list[tuple[str, dict]],
    inputs: list[str],
    contexts: list[StageContext],
    seed: int,
    head: list[PipelineStep] | None = None,
) -> list[Stage]:
    """Consecutive single-pass steps (clean -> lang -> quality, deid -> decontam) as one datatrove pipeline: the
    documents are read once and written once, by the last step's stage, instead of once per step.

    Each step keeps its own stage and folder, with what it removed (`excluded/`), its counts (`stats/`, its
    own stage counter right after it) and, in the manifest, its step counts (from the pipeline's logs in the
    last folder); only the documents between the steps are not written. `head` replaces the readers of `inputs`:
    the last pass of the multi-pass stage before the steps, up to its counter (`continue_stage`). The result
    equals running the stages one by one (tested)."""
    steps: list[PipelineStep] = head if head is not None else [contexts[0].reader(folder) for folder in inputs]
    stages = []
    for (step, params), ctx in zip(group, contexts):
        current = stage_filter(step, params, ctx, seed)
        steps += [current, ctx.counter()]
        stages.append(Stage(step, ctx.out, steps_in=contexts[-1].out, step_name=current.name))
    steps.append(contexts[-1].writer())
    stages[-1].pipelines = [(steps, contexts[-1].tasks)]
    return stages


def continue_stage(stage: Stage, into: str) -> list[PipelineStep]:
    """Take a multi-pass stage's last pass (one pass over the documents ending with the stage's counter and
    writer: the exact-dedup drop, the near-dup filter, the boilerplate remover) out of it, without its writer,
    for `fused_stages` to continue with the single-pass steps after it in the stage folder `into`: the stage's
    documents are not written. Its other passes stay; the manifest reads the moved step's counts in `into`."""
    steps, _tasks = stage.pipelines.pop()
    counter, writer = steps[-2:]
    if not isinstance(counter, StageCounter) or not isinstance(writer, DiskWriter):
        raise ValueError(f"stage {stage.name}: its last pass does not end with its counter and writer")
    stage.steps_in, stage.step_name = into, steps[-3].name
    return steps[:-1]


def sign_ahead(before: Stage, stage: Stage, fmt: str) -> None:
    """Let the stage `before`, whose documents `stage` reads, sign them for `stage`'s first pass (exact or near-dup
    signatures) on their way to its writer (`run/ahead.py`). Where `before`'s last pass is not the one writer of
    its documents, or `stage` does not start with signatures, nothing changes."""
    from medcorpus.curation.dedup.near.signature import NearDedupSignature  # (as the near-dup stage: on first use)

    if not before.pipelines or not stage.pipelines or is_remote(before.output):  # (markers and listing: local)
        return
    steps, _tasks = before.pipelines[-1]
    writer, signature = steps[-1], stage.pipelines[0][0][-1]
    if not isinstance(writer, DiskWriter) or writer.output_filename.template != DOCUMENTS + SUFFIX[fmt]:
        return  # (the sources stage writes `<source>/<name>_<rank>` files, one pipeline per source)
    if writer.output_folder.path != before.output or not isinstance(signature, FieldSignatures | NearDedupSignature):
        return
    signature.ahead = Ahead(str(Path(stage.output, "work", "ahead")), before.output, SUFFIX[fmt])
    steps.insert(len(steps) - 1, SignAhead(signature, signature.ahead))


def curation_params(curation: CurationConfig, step: str) -> dict | None:
    """Parameters of a curation step as keyword arguments, or None when it is disabled."""
    settings = getattr(curation, step)
    return None if settings is None else settings.model_dump()


def tokenize_stage(inputs: list[str], ctx: StageContext, tokenizer: TokenizerConfig) -> Stage:
    """Tokenize documents into Megatron shards with per-document provenance (the tokenizer is the stage's own)."""
    from medcorpus.tokenize.step import ShardTokenizer

    steps: list[PipelineStep] = [ctx.reader(folder) for folder in inputs]
    layout = {"eod_id": tokenizer.eod_id, "eod_token": tokenizer.eod_token}
    excluded = ctx.excluded() if ctx.settlement is not None else None  # what it skips settles its counts there
    policy = {"add_bos": tokenizer.add_bos, "add_eos": tokenizer.add_eos, "exclusion_writer": excluded}
    steps.append(ShardTokenizer(ctx.out, tokenizer.name, **policy, **layout))
    if ctx.settlement is not None:
        from medcorpus.run.deferred import TokenSettler

        steps.append(TokenSettler(ctx.settlement, ctx.out))
    return Stage("tokenize", ctx.out, [(steps, ctx.tasks)], kind="shards")


def chat_encoder(tokenizer: TokenizerConfig, sft: SftConfig):
    """The `ChatEncoder` of an SFT run: the tokenizer without a BOS/EOS policy (the chat template decides);
    ConfigError when the tokenizer and template cannot work together."""
    from medcorpus.tokenize import ChatEncoder, load_tokenizer

    for key in ("eod_id", "eod_token"):
        if getattr(tokenizer, key) is not None:
            raise ConfigError(f"tokenizer.{key}: not used with sft (the chat template decides the end markers)")
    try:
        loaded = load_tokenizer(tokenizer.name, add_bos=False, add_eos=False)
    except ValueError as error:
        raise ConfigError(f"tokenizer.name: {error}") from None
    try:
        return ChatEncoder(loaded, sft.template, sft.loss, sft.system)
    except ValueError as error:  # markers the tokenizer lacks, no usable chat_template, a bad system prompt
        raise ConfigError(f"sft: {error}") from None


def sft_tokenize_stage(inputs: list[str], ctx: StageContext, encoder, max_tokens: int) -> Stage:
    """Instruction examples into Megatron shards with loss masks, by the `chat_encoder` of the run's tokenizer and
    `sft` settings; what cannot be encoded goes to `excluded/` with its reason."""
    from medcorpus.tokenize.sft_step import SftShardTokenizer

    steps: list[PipelineStep] = [ctx.reader(folder) for folder in inputs]
    steps.append(SftShardTokenizer(ctx.out, max_tokens=max_tokens, exclusion_writer=ctx.excluded(), encoder=encoder))
    return Stage("tokenize", ctx.out, [(steps, ctx.tasks)], kind="shards")


def mix_stage(inputs: list[str], out: str, mix: dict, seed: int, vocab_size: int) -> Stage:
    """Mix tokenized sources by token ratios into the final shards (one task)."""
    from medcorpus.mixers import TokenMixer

    return Stage("mix", out, [([TokenMixer(inputs, out, mix, seed, vocab_size)], 1)], kind="shards")
