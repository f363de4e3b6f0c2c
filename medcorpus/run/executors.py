"""Running stages on datatrove's local, Ray or Slurm executors, each stage depending on the one before."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

from medcorpus.io.atomic import quiet_io_tracebacks
from medcorpus.run.config import ConfigError, SlurmConfig
from medcorpus.run.stages import Stage

EXECUTORS = ("local", "ray", "slurm")


def check_executor(executor: str, submit: bool = True) -> None:
    """Fail before any work when the executor is unknown or (with `submit`) cannot run here."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if submit and executor == "slurm" and shutil.which("sbatch") is None:
        raise ConfigError("--executor slurm: sbatch not found on PATH (run from a Slurm login node)")


def build_executors(
    stages: list[Stage],
    executor: str = "local",
    workers: int = 1,
    resume: bool = False,
    slurm: SlurmConfig | None = None,
):
    """One datatrove executor per pipeline of every stage, chained with `depends`; returns the last."""
    check_executor(executor, submit=False)
    previous = None
    for stage in stages:
        for i, (steps, tasks) in enumerate(stage.pipelines):
            logs = str(Path(stage.output) / "logs" / f"{stage.name}_{i}")
            common = {
                "pipeline": steps,
                "tasks": tasks,
                "logging_dir": logs,
                "depends": previous,
                "skip_completed": resume,
            }
            if executor == "local":
                from datatrove.executor import LocalPipelineExecutor

                # fork: workers start in milliseconds instead of re-importing everything (forkserver)
                common["start_method"] = "fork"
                previous = LocalPipelineExecutor(**common, workers=min(workers, tasks))
            elif executor == "ray":
                from datatrove.executor.ray import RayPipelineExecutor

                previous = RayPipelineExecutor(**common, workers=min(workers, tasks))
            else:
                from datatrove.executor.slurm import SlurmPipelineExecutor

                settings = slurm or SlurmConfig()
                previous = SlurmPipelineExecutor(
                    **common,
                    workers=workers,
                    job_name=f"medcorpus-{stage.name}-{i}",
                    time=settings.time,
                    partition=settings.partition,
                    cpus_per_task=settings.cpus_per_task,
                    mem_per_cpu_gb=settings.mem_per_cpu_gb,
                    venv_path=settings.venv_path,
                    sbatch_args=settings.sbatch_args or None,
                )
    return previous


def run_stages(
    stages: list[Stage],
    executor: str = "local",
    workers: int = 1,
    resume: bool = False,
    slurm: SlurmConfig | None = None,
) -> None:
    """Run (local, Ray) or submit (Slurm) the stages in order."""
    check_executor(executor)
    quiet_io_tracebacks()  # disk full, permission denied: one line naming the path, not a traceback per task
    if executor == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
    if executor == "local":  # what every task would build alike, built once for the forked workers to share
        for stage in stages:
            for steps, _tasks in stage.pipelines:
                for step in steps:
                    if callable(getattr(step, "share", None)):
                        step.share()
        # what the workers inherit is never garbage: kept out of their collections, whose scans would otherwise
        # copy every page of it into each worker (copy-on-write); unfrozen when the run ends
        gc.freeze()
    try:
        last = build_executors(stages, executor, workers, resume, slurm)
        if last is not None:
            last.run()
    finally:
        if executor == "local":
            gc.unfreeze()
