"""What `medcorpus fetch` does for a recipe: each source's `fetch:` spec, checked, as the downloads and crawls
that fill its first input folder. Pure logic: nothing here reads the network or the disk.

The spec, by source type (the target is the source's first input, a local folder):

- pubmed: `{kind: baseline|updates|all}` (default baseline): NLM's bulk files into TARGET/{baseline,updatefiles}.
- pmc: `{subsets: [oa_comm, oa_noncomm, oa_other], kind: baseline|incr|all}` (defaults [oa_comm], baseline):
  the Open Access packages into TARGET/<subset>.
- guidelines: `{sites: [aafp, ...], max_documents, delay, retries, timeout}`: one crawl per site into
  TARGET/<site>.
- general: `{preset: NAME}` or `{repo: OWNER/NAME, include: [GLOB, ...]}`, with optional `include`,
  `revision`, `text_key`, `max_files`, `max_tokens`: a Hub dataset's files into TARGET.
- instructions: `{repo: OWNER/NAME, include: [GLOB, ...]}` as for general (no presets): e.g. a Medical Meadow
  set's JSON file into TARGET.
- mimic: none. MIMIC is credentialed (PhysioNet): it is never downloaded; `fetch` says where to put it.

A source without a spec is only checked. A download two sources would run (same files, same folder) is
planned once, for the first; a source whose inputs lie in another's target is fetched with that one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medcorpus.paths import has_scheme
from medcorpus.run.config import ConfigError, RunConfig
from medcorpus.sources.download.ncbi import PMC_KINDS, PMC_SUBSETS, PUBMED_KINDS, pmc_sources, pubmed_sources
from medcorpus.sources.download.replay_sets import PRESETS, selection
from medcorpus.sources.guidelines.adapters import ADAPTERS

URL_KINDS = ("pubmed", "pmc", "general", "guidelines")  # --base-url-override TYPE=URL (or guidelines.SITE=URL)
GLOB = "*?["


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(values: list[str], known, what: str) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[0]!r}; known: {', '.join(known)}")


class PubmedSpec(_Spec):
    kind: str = "baseline"

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        _known([kind], PUBMED_KINDS, "kind")
        return kind


class PmcSpec(_Spec):
    subsets: list[str] = Field(["oa_comm"], min_length=1)
    kind: str = "baseline"

    @field_validator("subsets")
    @classmethod
    def _subsets(cls, subsets: list[str]) -> list[str]:
        _known(subsets, PMC_SUBSETS, "subset")
        return subsets

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        _known([kind], PMC_KINDS, "kind")
        return kind


class GuidelinesSpec(_Spec):
    sites: list[str] = Field(min_length=1)
    max_documents: int | None = Field(None, ge=1)
    delay: float = Field(1.0, ge=0)
    retries: int = Field(4, ge=0, le=20)
    timeout: float = Field(30.0, gt=0)

    @field_validator("sites")
    @classmethod
    def _sites(cls, sites: list[str]) -> list[str]:
        _known(sites, ADAPTERS, "site")
        return list(dict.fromkeys(sites))


class GeneralSpec(_Spec):
    preset: str | None = None
    repo: str | None = Field(None, pattern=r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
    include: list[str] = []
    revision: str | None = None
    text_key: str | None = None
    max_files: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)

    @field_validator("preset")
    @classmethod
    def _preset(cls, preset: str | None) -> str | None:
        _known([preset] if preset is not None else [], PRESETS, "preset")
        return preset

    @model_validator(mode="after")
    def _one(self) -> GeneralSpec:
        if bool(self.preset) == bool(self.repo):
            raise ValueError("give preset: NAME or repo: OWNER/NAME (with include), not both")
        if self.repo and not self.include:
            raise ValueError("repo: needs include: [GLOB, ...] (e.g. 'data/*.parquet')")
        return self


SPECS: dict[str, type[_Spec]] = {
    "pubmed": PubmedSpec,
    "pmc": PmcSpec,
    "guidelines": GuidelinesSpec,
    "general": GeneralSpec,
    "instructions": GeneralSpec,
}


@dataclass(frozen=True)
class Mirror:
    """One NLM bulk directory (`mirror`): the files matching `patterns` into `dest`."""

    url: str
    patterns: tuple[str, ...]
    dest: str


@dataclass(frozen=True)
class HubDownload:
    """A Hub dataset's files (`hub.download`) into `dest`."""

    repo: str
    include: tuple[str, ...]
    revision: str
    text_key: str
    dest: str
    endpoint: str | None = None
    max_files: int | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Crawl:
    """One guideline publisher's crawl (`crawl`) into the raw store `dest`."""

    site: str
    dest: str
    base_url: str | None = None
    max_documents: int | None = None
    delay: float = 1.0
    retries: int = 4
    timeout: float = 30.0


Action = Mirror | HubDownload | Crawl


@dataclass
class SourcePlan:
    """One source: `fetch` (it has a spec), `credentialed` (MIMIC) or `check` (no spec: only looked for)."""

    name: str
    type: str
    inputs: list[str]
    mode: Literal["fetch", "credentialed", "check"]
    actions: list[Action] = field(default_factory=list)  # those no earlier source runs
    shared_with: str | None = None  # the source whose fetch also fills these inputs


def check_urls(urls: dict[str, str]) -> dict[str, str]:
    """The `--base-url-override` mapping, or ValueError naming a bad TYPE or URL."""
    for key, url in urls.items():
        kind, _, site = key.partition(".")
        if kind not in URL_KINDS or (site and (kind != "guidelines" or site not in ADAPTERS)):
            raise ValueError(f"{key!r}: expected one of {', '.join(URL_KINDS)} or guidelines.SITE")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{key}: {url!r} is not an http(s) URL")
    return urls


def parse_spec(name: str, source_type: str, spec: dict) -> _Spec:
    """The checked `fetch:` spec of source `name`, or ConfigError naming the key (`sources.NAME.fetch.KEY`)."""
    key = f"sources.{name}.fetch"
    if source_type == "mimic":
        raise ConfigError(
            f"{key}: MIMIC is credentialed (PhysioNet) and never downloaded; remove fetch: and place the files "
            "in the source's inputs yourself"
        )
    try:
        return SPECS[source_type].model_validate(spec)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in (key, *first["loc"]))
        cause = (first.get("ctx") or {}).get("error")
        raise ConfigError(f"{where}: {cause if isinstance(cause, ValueError) else first['msg']}") from None


def target(name: str, inputs: list[str]) -> str:
    """The folder a spec fetches into: the first input, which must be a local folder path."""
    first = inputs[0].removeprefix("file://")
    if has_scheme(first) or any(ch in first for ch in GLOB):
        raise ConfigError(f"sources.{name}.inputs: fetch writes into the first input, a local folder, not {first!r}")
    return os.path.normpath(first)


def actions(spec: _Spec, dest: str, urls: dict[str, str]) -> list[Action]:
    """The downloads or crawls that fill `dest` as `spec` says, against the `urls` overrides."""
    if isinstance(spec, PubmedSpec):
        remote = pubmed_sources(spec.kind, urls.get("pubmed"))
    elif isinstance(spec, PmcSpec):
        remote = pmc_sources(spec.subsets, spec.kind, urls.get("pmc"))
    elif isinstance(spec, GuidelinesSpec):
        return [
            Crawl(
                site,
                os.path.join(dest, site),
                urls.get(f"guidelines.{site}", urls.get("guidelines")),
                spec.max_documents,
                spec.delay,
                spec.retries,
                spec.timeout,
            )
            for site in spec.sites
        ]
    else:
        chosen = selection(spec.preset, spec.repo, spec.include, spec.revision, spec.text_key)
        return [
            HubDownload(
                chosen.repo,
                chosen.include,
                chosen.revision,
                chosen.text_key,
                dest,
                urls.get("general"),
                spec.max_files,
                spec.max_tokens,
            )
        ]
    return [Mirror(source.url, source.patterns, os.path.join(dest, source.subfolder)) for source in remote]


def _covers(path: str, folder: str) -> bool:
    """Whether the input `path` (a folder, file or glob) is `folder` or lies below it."""
    path = path.removeprefix("file://")
    literal = os.path.normpath(re.split(r"[*?[]", path)[0] or ".")
    return not has_scheme(path) and (literal == folder or literal.startswith(os.path.join(folder, "")))


def plan(config: RunConfig, only: list[str] | None = None, urls: dict[str, str] | None = None) -> list[SourcePlan]:
    """One `SourcePlan` per source (those in `only`, in config order); ConfigError for a bad spec or name."""
    unknown = [name for name in only or [] if name not in config.sources]
    if unknown:
        raise ConfigError(f"--only {unknown[0]}: no such source (sources: {', '.join(config.sources)})")
    try:
        urls = check_urls(dict(urls or {}))
    except ValueError as error:
        raise ConfigError(f"--base-url-override {error}") from None
    specs = {
        name: (parse_spec(name, source.type, source.fetch), target(name, source.inputs))
        for name, source in config.sources.items()
        if source.fetch is not None
    }  # every spec is checked, chosen or not
    plans, owners, targets = [], {}, {}
    for name, source in config.sources.items():
        if only and name not in only:
            continue
        inputs = [path if has_scheme(path) else os.path.normpath(path) for path in source.inputs]
        if name not in specs:
            plans.append(SourcePlan(name, source.type, inputs, "credentialed" if source.type == "mimic" else "check"))
            continue
        spec, dest = specs[name]
        planned = actions(spec, dest, urls)
        targets.setdefault(dest, name)
        fresh = [action for action in planned if owners.setdefault(action, name) == name]
        plans.append(SourcePlan(name, source.type, inputs, "fetch", fresh, None if fresh else owners[planned[0]]))
    for item in plans:
        if item.mode == "check":
            item.shared_with = next(
                (owner for dest, owner in targets.items() if all(_covers(path, dest) for path in item.inputs)), None
            )
    return plans
