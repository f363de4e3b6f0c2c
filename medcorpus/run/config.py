"""The run configuration: one YAML file, validated in full before anything runs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medcorpus.documents import CATEGORIES
from medcorpus.paths import InputError, expand_inputs, has_scheme
from medcorpus.sources import READERS, reader_class
from medcorpus.tokenize.chat import Loss, Template


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and what is wrong."""

    quiet = True  # its message says it all: logged as one line, without a traceback


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(Strict):
    type: Literal["pubmed", "pmc", "guidelines", "mimic", "general", "instructions"]
    inputs: list[str] = Field(min_length=1)
    options: dict[str, Any] = {}
    fetch: dict[str, Any] | None = None  # how `medcorpus fetch` gets the inputs (ignored by `run`)


class BoilerplateConfig(Strict):
    """Lines in at least max(min_documents, min_fraction x documents) documents of one source are removed."""

    min_documents: int = Field(5, ge=2)
    min_fraction: float = Field(0.01, ge=0, le=1)
    min_chars: int = Field(20, ge=1)
    min_words: int = Field(4, ge=1)
    max_lines: int = Field(500_000, ge=1000)


class CleanConfig(Strict):
    remove_urls: bool = False
    remove_emails: bool = False
    strip_html: bool = True
    citation_remnants: bool = True
    boilerplate: BoilerplateConfig | None = None


class LangConfig(Strict):
    languages: list[str] = ["en"]
    min_score: float = Field(0.65, ge=0, le=1)
    min_letters: int = Field(40, ge=0)
    keep_undetermined: bool = True
    max_chars: int = Field(2000, gt=0)
    backend: Literal["langdetect", "fasttext"] = "fasttext"  # 4x faster; benchmarks/bench_lang_medical.py


class QualityConfig(Strict):
    profiles: dict[str, dict[str, float | int | None]] = {}


class DedupConfig(Strict):
    """Exact copies of each field (`text`: the whole text; `prompt`: an instruction example's user turns)."""

    priority: list[str] = ["guidelines", "pmc", "pubmed", "mimic3", "mimic4", "mimiccxr", "general"]
    fields: list[Literal["text", "prompt"]] = ["text"]

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: list[str]) -> list[str]:
        if not fields or len(set(fields)) != len(fields):
            raise ValueError("fields lists text, prompt or both, each once")
        return fields


class NearDedupConfig(Strict):
    """MinHash + LSH near-duplicate removal; `threshold` confirms candidates (null: any bucket collision).

    `field: prompt` compares instruction examples by their prompts (`prompt_of`) instead of their texts."""

    ngram: int = Field(3, ge=1, le=50)  # defaults tuned by benchmarks/bench_near_dedup.py
    bands: int = Field(20, ge=1, le=256)
    rows: int = Field(5, ge=1, le=64)
    threshold: float | None = Field(0.5, ge=0, le=1)
    priority: list[str] = ["guidelines", "pmc", "pubmed", "mimic3", "mimic4", "mimiccxr", "general"]
    keep: list[Literal["priority", "longest", "shortest", "id"]] = ["priority", "longest", "id"]
    field: Literal["text", "prompt"] = "text"

    @field_validator("keep")
    @classmethod
    def _keep(cls, keep: list[str]) -> list[str]:
        if len(set(keep)) != len(keep) or {"longest", "shortest"} <= set(keep):
            raise ValueError("keep lists each rule once, and not both longest and shortest")
        return keep


class DeidConfig(Strict):
    categories: list[str] = ["clinical"]
    scrub_residual: bool = True
    replace: Literal["tags", "surrogates"] = "tags"
    learned: bool = True  # the shipped name/place classifier besides the rules
    threshold: float = Field(0.5, gt=0, le=1)  # its P(PHI) cut: lower finds more, wrongly more often


class BenchmarkSpec(Strict):
    """One evaluation set: a file or folder, its format (detected with `auto`) and the fields matched."""

    path: str
    format: Literal["auto", "pubmedqa", "medqa", "medmcqa", "mmlu", "aistairc"] = "auto"
    fields: list[Literal["question", "option", "option_set", "context", "answer"]] | None = None
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    match_ids: bool | None = None  # remove its PMIDs by id (default: PubMedQA test splits only)


class DecontamConfig(Strict):
    benchmarks: list[str | BenchmarkSpec] = Field(min_length=1)
    n: int = Field(13, ge=5)
    min_matches: int = Field(1, ge=1)
    action: Literal["drop", "cut"] = "drop"
    min_words_left: int = Field(50, ge=0)
    match_pmids: bool = True
    pmid_sources: list[str] = ["pubmed", "pmc"]
    questions: bool = True  # instruction examples that ask a benchmark question are dropped
    min_question_words: int = Field(6, ge=1)  # shorter questions count only as a whole user turn

    def files(self) -> list[str]:
        """Every benchmark file named (for the manifest's inputs)."""
        paths = [spec if isinstance(spec, str) else spec.path for spec in self.benchmarks]
        from medcorpus.curation.decontam.benchmarks import SUFFIXES

        return expand_inputs(paths, SUFFIXES)


class CurationConfig(Strict):
    """Each step runs when present (null disables it); steps run in the order of STEP_ORDER."""

    clean: CleanConfig | None = CleanConfig()
    lang: LangConfig | None = LangConfig()
    quality: QualityConfig | None = None
    dedup: DedupConfig | None = DedupConfig()
    near_dedup: NearDedupConfig | None = NearDedupConfig()
    deid: DeidConfig | None = DeidConfig()
    decontam: DecontamConfig | None = None


STEP_ORDER = ("clean", "lang", "quality", "dedup", "near_dedup", "deid", "decontam")


class MixConfig(Strict):
    ratios: dict[str, float]
    total_tokens: int | None = Field(None, gt=0)
    source_weights: dict[str, float] = {}
    max_epochs: float = Field(4.0, gt=0)
    max_epochs_per_source: dict[str, float] = {}
    shard_tokens: int = Field(1 << 30, gt=0)
    validation_fraction: float = Field(0.0, ge=0, lt=1)  # seeded share of distinct documents held out for validation
    validation_fraction_per_source: dict[str, float] = {}  # a source's own share (e.g. guidelines 0.05, replay 0)
    public: bool = False  # the mixed shards will be published: restricted (credentialed) documents are refused
    allow_restricted: bool = False  # with public: publish restricted documents anyway (recorded in the report)

    @field_validator("ratios")
    @classmethod
    def _categories(cls, ratios: dict[str, float]) -> dict[str, float]:
        unknown = set(ratios) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; use {list(CATEGORIES)}")
        if not ratios or any(value <= 0 for value in ratios.values()):
            raise ValueError("ratios must be positive numbers, e.g. {biomedical: 15, clinical: 1, general: 4}")
        return ratios

    @field_validator("validation_fraction_per_source")
    @classmethod
    def _fractions(cls, fractions: dict[str, float]) -> dict[str, float]:
        bad = {name: value for name, value in fractions.items() if not 0 <= value < 1}
        if bad:
            raise ValueError(f"validation fractions must be in [0, 1): {bad}")
        return fractions


class TokenizerConfig(Strict):
    """Tokenizer and per-document layout: [BOS] + text + [EOS, or EOD when `eod_id`/`eod_token` is set]."""

    name: str = "mistral-7b-v0.1"
    add_bos: bool = True
    add_eos: bool = True
    eod_id: int | None = Field(None, ge=0)
    eod_token: str | None = None

    def load(self):
        """The `medcorpus.tokenize.Tokenizer` with this policy (raises ValueError for an impossible one)."""
        from medcorpus.tokenize import load_tokenizer

        return load_tokenizer(self.name, self.add_bos, self.add_eos, eod_id=self.eod_id, eod_token=self.eod_token)


class SftConfig(Strict):
    """Instruction-tuning shards: each example rendered by a chat template, with a loss mask over the answers."""

    template: Template = "llama-2"
    loss: Loss = "answers"
    max_tokens: int = Field(4096, ge=8)  # longer examples (template included) are excluded as too_long
    system: str | None = None  # system prompt for examples that have none


class SlurmConfig(Strict):
    partition: str = "cpu"
    time: str = "12:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    venv_path: str | None = None
    sbatch_args: dict[str, str] = {}


class RunConfig(Strict):
    output: str
    seed: int = 1234
    format: Literal["parquet", "jsonl"] = "parquet"
    workers: int = Field(1, ge=1)
    tasks: int | None = Field(None, ge=1)
    count_stage_tokens: bool = True
    fuse_steps: bool = True  # consecutive single-pass steps share one pipeline (false: every stage writes documents)
    sources: dict[str, SourceConfig] = Field(min_length=1)
    curation: CurationConfig = CurationConfig()
    mix: MixConfig
    tokenizer: TokenizerConfig = TokenizerConfig()
    sft: SftConfig | None = None  # present: instruction sources become SFT shards with loss masks
    slurm: SlurmConfig = SlurmConfig()


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def check_reader_options(name: str, source: SourceConfig) -> None:
    """Fail when a source's options are not parameters of its reader."""
    accepted = set(inspect.signature(reader_class(source.type).__init__).parameters) - {"self", "inputs"}
    for key in source.options:
        if key not in accepted:
            raise ConfigError(
                f"sources.{name}.options.{key}: not an option of the {source.type} reader "
                f"(accepted: {', '.join(sorted(accepted - {'exclusion_writer'}))})"
            )


def resolve_paths(raw: dict, base: Path) -> dict:
    """Make relative input, benchmark and output paths relative to the config file's folder."""

    def fix(path: str) -> str:
        return path if has_scheme(path) or Path(path).is_absolute() else str(base / path)

    for source in (raw.get("sources") or {}).values():
        if isinstance(source, dict) and isinstance(source.get("inputs"), list):
            source["inputs"] = [fix(str(item)) for item in source["inputs"]]
        options = source.get("options") if isinstance(source, dict) else None
        if isinstance(options, dict) and isinstance(options.get("pmc_folders"), list):
            options["pmc_folders"] = [fix(str(item)) for item in options["pmc_folders"]]
    decontam = (raw.get("curation") or {}).get("decontam")
    if isinstance(decontam, dict) and isinstance(decontam.get("benchmarks"), list):
        decontam["benchmarks"] = [
            item | {"path": fix(str(item["path"]))} if isinstance(item, dict) and "path" in item else item
            for item in decontam["benchmarks"]
        ]
        decontam["benchmarks"] = [fix(item) if isinstance(item, str) else item for item in decontam["benchmarks"]]
    if isinstance(raw.get("output"), str):
        raw["output"] = fix(raw["output"])
    tokenizer = raw.get("tokenizer")
    if isinstance(tokenizer, dict) and isinstance(tokenizer.get("name"), str):
        name = tokenizer["name"]
        if "/" in name.replace("\\", "/") or name.endswith((".model", ".json")):  # a file, not a named tokenizer
            tokenizer["name"] = fix(name)
    return raw


def apply_overrides(raw: dict, overrides: dict[str, object]) -> dict:
    """Set dotted keys (``tokenizer.name``, ``mix.total_tokens``) in a raw config, creating mappings on the way."""
    for key, value in overrides.items():
        parts = key.split(".")
        node = raw
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {part} is not a mapping")
            node = child
        node[parts[-1]] = value
    return raw


def validate(raw: dict, check_inputs: bool = True) -> RunConfig:
    """A RunConfig from a dict, or ConfigError naming the first bad key; inputs must exist (unless not
    `check_inputs`: for commands that run before the data is there, `fetch` and `plan`)."""
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"{_location(first['loc']) or '(top level)'}: {first['msg']}") from None
    for name, source in config.sources.items():
        check_reader_options(name, source)
        if source.type == "instructions":
            source.options.setdefault("name", name)  # each set keeps its own name (priority, weights, report)
        if config.sft is not None and source.type != "instructions":
            raise ConfigError(
                f"sources.{name}.type: a run with an sft section builds instruction-tuning shards and reads "
                f"instruction sources only (type: instructions), not {source.type}"
            )
    if not check_inputs:
        return config
    for name, source in config.sources.items():
        try:
            expand_inputs(source.inputs, reader_class(source.type).suffixes)
        except InputError as error:
            raise ConfigError(f"sources.{name}.inputs: {error}") from None
    if config.curation.decontam:
        try:
            from medcorpus.curation.decontam.benchmarks import resolve_benchmarks

            benchmarks = config.curation.decontam.benchmarks
            resolve_benchmarks([spec if isinstance(spec, str) else spec.model_dump() for spec in benchmarks])
        except ValueError as error:
            raise ConfigError(f"curation.decontam.benchmarks: {error}") from None
    return config


def load_config(path: str | Path, overrides: dict[str, object] | None = None, check_inputs: bool = True) -> RunConfig:
    """Read and validate a YAML run config; relative paths are relative to the file (those of `overrides`,
    dotted keys set before validation, too). `check_inputs=False` accepts inputs that do not exist yet."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    return validate(resolve_paths(apply_overrides(raw, overrides or {}), path.resolve().parent), check_inputs)


__all__ = ["READERS", "STEP_ORDER", "ConfigError", "RunConfig", "load_config", "validate"]
