"""A real Slurm cluster (`make test-slurm` sets up one node here) runs a config byte-identically to the local executor.

`medcorpus run CONFIG --executor slurm` submits one job array per pipeline, chained with `afterok`
dependencies; the test waits for every job it submitted (tagged with a unique `--comment`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from test_executors import small_config

SKIPPED = {"logs", "work", "slurm_logs"}
WAIT_SECONDS = 900


def default_partition() -> str:
    """The cluster's default partition (marked `*` by sinfo); skips when no controller answers."""
    if not all(shutil.which(command) for command in ("sbatch", "squeue", "scontrol", "sinfo")):
        pytest.skip("sbatch not on PATH: run `make test-slurm` (as root) to set up a one-node Slurm cluster")
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    if ping.returncode != 0:  # answers at once, where sinfo retries for seconds
        pytest.skip(f"no Slurm controller is up: {ping.stdout.strip().splitlines()[0] if ping.stdout else ping.stderr}")
    found = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=30)
    names = found.stdout.split()
    if found.returncode != 0 or not names:
        pytest.skip(f"no Slurm controller answers sinfo: {found.stderr.strip()[:200]}")
    return next((name.rstrip("*") for name in names if name.endswith("*")), names[0])


def config(out: Path, partition: str, tag: str) -> dict:
    """The executor tests' small config, submitted to `partition` with our jobs tagged by `tag`."""
    return small_config(out) | {
        "slurm": {
            "partition": partition,
            "time": "00:30:00",
            "cpus_per_task": 1,
            "mem_per_cpu_gb": 1,
            "venv_path": str(Path(sys.prefix) / "bin" / "activate"),
            "sbatch_args": {"comment": tag},
        },
    }


def our_jobs(tag: str) -> list[list[str]]:
    """`[job id, name, state, reason]` of the queued or running jobs carrying `tag`."""
    listed = subprocess.run(
        ["squeue", "-h", "-o", "%i|%j|%T|%r|%k"], capture_output=True, text=True, timeout=30, check=True
    )
    rows = [line.split("|") for line in listed.stdout.splitlines()]
    return [row[:4] for row in rows if len(row) == 5 and row[4] == tag]


def wait_for(tag: str, out: Path) -> None:
    """Until none of our jobs is left; fail (cancelling them) when one can never run or time is up."""
    deadline = time.monotonic() + WAIT_SECONDS
    while jobs := our_jobs(tag):
        stuck = [job for job in jobs if "DependencyNeverSatisfied" in job[3]]
        if stuck or time.monotonic() > deadline:
            subprocess.run(["scancel", *sorted({job[0].split("_")[0] for job in jobs})], check=False)
            logs = sorted(out.glob("**/slurm_logs/*.out"))
            tail = "\n".join(f"{p}: {p.read_text()[-600:]}" for p in logs if "Error" in p.read_text())
            pytest.fail(f"Slurm jobs failed or timed out: {stuck or jobs}\n{tail[-4000:]}")
        time.sleep(2)


def files(root: Path) -> dict[str, bytes]:
    """Every output file under `root` (logs and scratch folders left out), by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not SKIPPED & set(p.relative_to(root).parts) and p.name != "manifest.json"
    }


@pytest.mark.slow
def test_slurm_run_matches_local_run(tmp_path):
    partition = default_partition()
    tag = f"medcorpus-test-{uuid.uuid4().hex[:12]}"
    medcorpus = [str(Path(sys.prefix) / "bin" / "medcorpus")]  # the console script, as a user runs it
    timings = {}
    for executor in ("local", "slurm"):
        path = tmp_path / f"{executor}.yaml"
        path.write_text(yaml.safe_dump(config(tmp_path / executor, partition, tag)))
        started = time.monotonic()
        done = subprocess.run(
            [*medcorpus, "run", str(path), "--executor", executor], capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        if executor == "slurm":
            assert "run submitted" in done.stdout + done.stderr
            timings["submit"] = time.monotonic() - started
            wait_for(tag, tmp_path / executor)
        timings[executor] = time.monotonic() - started
    print(f"timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}")

    local, slurm = files(tmp_path / "local"), files(tmp_path / "slurm")
    assert any(name.startswith("shards/") and name.endswith(".bin") for name in local)
    assert sorted(slurm) == sorted(local)
    assert [name for name in local if local[name] != slurm[name]] == []
    manifests = [json.loads((tmp_path / r / "manifest.json").read_text()) for r in ("local", "slurm")]
    hashes = [{e["path"]: e["sha256"] for e in m["outputs"]} for m in manifests]
    assert hashes[0] == hashes[1] and hashes[0]
    launched = sorted((tmp_path / "slurm").glob("**/launch_script.slurm"))
    script = launched[0].read_text()
    assert f"#SBATCH --partition={partition}" in script and "#SBATCH --array=" in script
