"""The run manifest: what went in, what each stage did, what came out, and how to check it."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from importlib import metadata as importlib_metadata
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

import medcorpus
from medcorpus.curation.decontam.decontaminator import benchmark_report
from medcorpus.io.atomic import atomic_write_text
from medcorpus.io.hashing import describe_files, file_change, sha256_file
from medcorpus.io.step_stats import read_step_counts
from medcorpus.run.counts import read_counts, read_exclusions

MANIFEST = "manifest.json"
PACKAGES = (
    "datatrove",
    "pyarrow",
    "numpy",
    "ftfy",
    "langdetect",
    "trafilatura",
    "pymupdf",
    "scrubadub",
    "sentencepiece",
    "tokenizers",
    "mistral_common",
    "lxml",
    "torch",
    "ray",
)
SKIPPED_DIRS = {"logs", "work"}


def git_commit() -> str | None:
    """The commit of the medcorpus checkout in use, when it is one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(medcorpus.__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a corpus."""
    found = {"python": platform.python_version(), "medcorpus": medcorpus.__version__}
    for name in PACKAGES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return found


def output_files(root: Path, folders: list[Path]) -> list[dict]:
    """Every file written under `folders` (logs and scratch work excluded), relative to `root`."""
    files = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts = path.relative_to(folder).parts
            if parts[0] in SKIPPED_DIRS or path.name == MANIFEST:
                continue
            entry = {"path": str(path.relative_to(root)), "size": path.stat().st_size, "sha256": sha256_file(path)}
            if path.suffix == ".bin":
                from medcorpus.tokenize.shard_reader import ShardReader

                entry["tokens"] = ShardReader(str(path.with_suffix(""))).total_tokens
            files.append(entry)
    return files


def stage_summary(
    name: str, folder: Path, previous: dict | None, steps_in: str | None = None, step_name: str | None = None
) -> dict:
    """Documents, characters and tokens in and out of one stage, and its removals by reason. A stage whose step
    ran in another stage's pipeline finds its step counts in that stage's logs (`steps_in`) under `step_name` (and
    those of any passes it ran itself in its own logs)."""
    out = read_counts(folder / "stats")
    removed = read_exclusions(folder / "excluded")
    summary = {"name": name, "output": str(folder), "out": out, "removed": removed}
    if previous is not None:
        summary["in"] = previous
    steps = read_step_counts(steps_in or folder)
    if step_name is not None:
        steps = {key: value for key, value in steps.items() if key == step_name}
    if steps_in is not None and Path(steps_in).name != folder.name:
        summary["ran_in"] = Path(steps_in).name  # the stage whose pipeline ran this step (and whose time it is)
        steps = read_step_counts(folder) | steps  # a multi-pass stage's other passes ran in its own folder
    if steps:
        summary["steps"] = steps  # every step's own counts: rules applied, benchmarks hit, ...
    if name == "decontam":
        summary["benchmarks"] = benchmark_report(folder)
    return summary


def release_summary(mix: dict | None) -> dict | None:
    """From the mix report: whether the shards are marked public, whether restricted data was allowed in,
    and the restricted documents and tokens they hold per source."""
    if mix is None:
        return None
    return {
        "public": bool(mix.get("public", False)),
        "allow_restricted": bool(mix.get("allow_restricted", False)),
        "restricted": mix.get("restricted", {}),
    }


class ManifestWriter(PipelineStep):
    """Writes `manifest.json` in `root` once every stage has run (a single task)."""

    type = "🧾 - MANIFEST"
    name = "manifest writer"

    def __init__(
        self,
        root: str,
        config: dict,
        seeds: dict,
        inputs: list[str],
        stages: list[tuple[str, str, str]],
        tokenizer: dict | None = None,
        started: float | None = None,
    ):
        super().__init__()
        self.root = root
        self.config = config
        self.seeds = seeds
        self.inputs = inputs
        self.stages = stages  # (name, output folder, kind[, steps_in, step_name])
        self.tokenizer = tokenizer
        self.started = started or time.time()

    def build(self) -> dict:
        """The manifest as a dict."""
        root = Path(self.root)
        summaries, previous, mix = [], None, None
        for name, folder, kind, *fused in self.stages:
            path = Path(folder)
            if kind == "documents":
                summary = stage_summary(name, path, previous, *fused)
                previous = summary["out"]
            else:
                summary = {"name": name, "output": str(path)}
                if (path / "excluded").is_dir():  # SFT tokenizing: examples left out, by source and reason
                    summary["removed"] = read_exclusions(path / "excluded")
                report = path / "mix_report.json"
                if report.exists():
                    mix = json.loads(report.read_text())
            summaries.append(summary)
        return {
            "medcorpus_version": medcorpus.__version__,
            "git_commit": git_commit(),
            "versions": versions(),
            "config": self.config,
            "seeds": self.seeds,
            "inputs": describe_files(self.inputs),
            "stages": summaries,
            "mix": mix,
            "release": release_summary(mix),
            "tokenizer": self.tokenizer,
            "outputs": output_files(root, [Path(stage[1]) for stage in self.stages]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank == 0:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(self.root) / MANIFEST, json.dumps(self.build(), indent=1, sort_keys=True))
        yield from ()


def verify(manifest_path: str | Path) -> list[str]:
    """Problems found re-hashing a run's inputs, then every output its manifest lists (empty when all match).

    `manifest_path` is a manifest.json or a run folder; a run folder without a manifest yet (an unfinished
    run) has only the inputs recorded when it started (`inputs.json`) checked.
    """
    from medcorpus.run.inputs_record import input_problems, read_recorded

    path = Path(manifest_path)
    root = path if path.is_dir() else path.parent
    path = root / MANIFEST if path.is_dir() else path
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    recorded = read_recorded(root)
    if not manifest and recorded is None:
        return [f"missing: {path} (and no inputs.json: not a medcorpus run folder?)"]
    inputs = {entry["path"]: entry for entry in (recorded or []) + manifest.get("inputs", [])}
    problems = input_problems(list(inputs.values()))
    for entry in manifest.get("outputs", []):
        change = file_change(root / entry["path"], entry)
        if change == "missing":
            problems.append(f"missing: {entry['path']}")
        elif change == "sha256":
            problems.append(f"sha256 differs: {entry['path']}")
        elif change:
            problems.append(f"size differs: {entry['path']} ({change.removeprefix('size ')})")
    return problems
