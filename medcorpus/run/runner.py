"""A whole run from one validated config: sources, curation, tokenization, mixing, manifest."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from medcorpus.paths import expand_inputs
from medcorpus.run.config import STEP_ORDER, ConfigError, RunConfig
from medcorpus.run.context import StageContext
from medcorpus.run.deferred import Settlement
from medcorpus.run.executors import check_executor, run_stages
from medcorpus.run.inputs_record import prepare_inputs
from medcorpus.run.manifest import ManifestWriter
from medcorpus.run.plan import check_categories, offered_categories
from medcorpus.run.stages import (
    Stage,
    chat_encoder,
    continue_stage,
    curation_params,
    curation_stage,
    fused_stages,
    mix_stage,
    sft_tokenize_stage,
    sign_ahead,
    single_pass,
    source_stage,
    tokenize_stage,
)
from medcorpus.sources import reader_class


def prepare_output(root: Path, overwrite: bool, resume: bool) -> None:
    """Refuse to mix a new run into an old one unless told to resume or overwrite."""
    if root.exists() and any(root.iterdir()):
        if overwrite:
            shutil.rmtree(root)
        elif not resume:
            raise ConfigError(f"output: {root} is not empty; pass --resume to continue it or --overwrite to replace it")
    root.mkdir(parents=True, exist_ok=True)


def manifest_stage(
    root: str, stages: list[Stage], config: dict, seed: int, inputs: list[str], tokenizer: dict | None, started: float
) -> Stage:
    """The last stage: hashes everything and writes manifest.json in `root`."""
    listed = [(stage.name, stage.output, stage.kind, stage.steps_in, stage.step_name) for stage in stages]
    seeds = {"seed": seed, "language": seed, "mix": seed}
    writer = ManifestWriter(root, config, seeds, inputs, listed, tokenizer, started)
    return Stage("manifest", root, [([writer], 1)], kind="manifest")


def plan_run(config: RunConfig, encoder=None, defer_counts: bool = True) -> list[Stage]:
    """Every stage of a run, in order, ending with the manifest (an SFT run's `chat_encoder`, when already built,
    is `encoder`). Stage token counts are settled by the tokenize stage (`deferred.py`) unless `defer_counts` is
    off (then every stage counts its own: the same figures, more CPU)."""

    started = time.time()
    root = Path(config.output)
    tasks = config.tasks or config.workers
    counting = config.tokenizer if config.count_stage_tokens else None
    if counting is not None and config.sft is not None:  # SFT: the chat template decides BOS/EOS, count text alone
        counting = counting.model_copy(update={"add_bos": False, "add_eos": False, "eod_id": None, "eod_token": None})
    stages: list[Stage] = []
    steps = [(step, params) for step in STEP_ORDER if (params := curation_params(config.curation, step)) is not None]
    offered = offered_categories(config)  # de-identification loads its detectors only if a source may need them
    steps = [(s, p | {"preload": bool(offered & set(p["categories"]))} if s == "deid" else p) for s, p in steps]

    def folder(number: int, name: str) -> Path:  # stages are numbered from 1 in run order
        return root / "stages" / f"{number:02d}_{name}"

    settlement = None
    if counting is not None and config.sft is None and defer_counts:  # counts settled by the tokenize stage
        counted = ["sources"] + [step for step, _ in steps]
        stats = tuple(str(folder(number, name) / "stats") for number, name in enumerate(counted, 1))
        settlement = Settlement(stats, counting.name, counting.add_bos, counting.add_eos)

    def context(name: str, ahead: int = 0) -> StageContext:
        return StageContext(str(folder(len(stages) + 1 + ahead, name)), config.format, tasks, counting, settlement)

    stages.append(source_stage(config.sources, context("sources")))
    while steps:
        group = [steps.pop(0)]
        while config.fuse_steps and steps and single_pass(*group[-1]) and single_pass(*steps[0]):
            group.append(steps.pop(0))
        if len(group) > 1:
            contexts = [context(step, ahead) for ahead, (step, _) in enumerate(group)]
            stages += fused_stages(group, [stages[-1].output], contexts, config.seed)
            continue
        step, params = group[0]
        stage = curation_stage(step, params, [stages[-1].output], context(step), config.seed)
        if config.fuse_steps and step in ("dedup", "near_dedup"):
            sign_ahead(stages[-1], stage, config.format)
        stages.append(stage)
        following = []  # single-pass steps after a multi-pass one continue its last pass
        while config.fuse_steps and not single_pass(step, params) and steps and single_pass(*steps[0]):
            following.append(steps.pop(0))
        if following:
            contexts = [context(name, ahead) for ahead, (name, _) in enumerate(following)]
            head = continue_stage(stage, contexts[-1].out)
            stages += fused_stages(following, [], contexts, config.seed, head)
    if config.sft is None:
        tokenizer = config.tokenizer.load()
        identity, tokenizer_files = tokenizer.identity(), [tokenizer.path]
        stages.append(tokenize_stage([stages[-1].output], context("tokenize"), config.tokenizer))
    else:
        encoder = encoder or chat_encoder(config.tokenizer, config.sft)
        tokenizer = encoder.tokenizer
        identity, tokenizer_files = encoder.provenance()
        tokenizing = context("tokenize")
        stages.append(sft_tokenize_stage([stages[-1].output], tokenizing, encoder, config.sft.max_tokens))
    stages.append(
        mix_stage([stages[-1].output], str(root / "shards"), config.mix.model_dump(), config.seed, tokenizer.vocab_size)
    )
    inputs = [f for s in config.sources.values() for f in expand_inputs(s.inputs, reader_class(s.type).suffixes)]
    if config.curation.decontam:
        inputs += config.curation.decontam.files()
    if config.curation.deid and config.curation.deid.scrub_residual and config.curation.deid.learned:
        from medcorpus.curation.deid.learned.model import MODEL_FILE

        inputs.append(str(MODEL_FILE))  # the classifier's identity: its path and sha256
    inputs += tokenizer_files
    stages.append(manifest_stage(str(root), stages, config.model_dump(), config.seed, inputs, identity, started))
    return stages


def run(
    config: RunConfig,
    executor: str = "local",
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    defer_counts: bool = True,
) -> list[Stage]:
    """Run (or, on Slurm, submit) a whole config; returns the stages it ran (`defer_counts`: see `plan_run`)."""
    check_executor(executor)
    check_categories(config)  # the part of `medcorpus plan` that is certain, before anything runs
    # a template the tokenizer cannot serve fails before any folder is made
    encoder = chat_encoder(config.tokenizer, config.sft) if config.sft is not None else None
    if workers is not None:
        config = config.model_copy(update={"workers": workers})
    prepare_output(Path(config.output), overwrite, resume)
    stages = plan_run(config, encoder, defer_counts)
    # inputs hashed at the start; a resume checks them and clears what killed tasks left behind
    prepare_inputs(config.output, stages[-1].pipelines[0][0][0].inputs, resume)
    run_stages(stages, executor, config.workers, resume, config.slurm)
    return stages
