"""A run killed (SIGKILL, whole process group) at many points, then resumed, ends byte-identical to an unbroken run."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from support.paths import SAMPLES

from medcorpus.io.atomic import is_temp_name
from medcorpus.run.config import load_config
from medcorpus.run.inputs_record import prepare_inputs
from medcorpus.run.runner import plan_run

KILLED = -signal.SIGKILL


def small_config(path: Path) -> Path:
    """Three sources, three curation stages, tokenization and mixing over the bundled samples."""
    config = {
        "output": str(path.parent / "unused"),
        "seed": 1234,
        "workers": 2,
        "tasks": 2,
        "sources": {
            "pubmed": {"type": "pubmed", "inputs": [str(SAMPLES / "pubmed")], "options": {"languages": []}},
            "mimic": {"type": "mimic", "inputs": [str(SAMPLES / "mimic")]},
            "general": {"type": "general", "inputs": [str(SAMPLES / "general")], "options": {"name": "redpajama"}},
        },
        "curation": {"clean": {}, "lang": None, "quality": {}, "dedup": {}, "near_dedup": None, "deid": None},
        "mix": {"ratios": {"biomedical": 15, "clinical": 1, "general": 4}},
        "tokenizer": {"name": "mistral-7b-v0.1"},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def command(config: Path, out: Path, resume: bool = False) -> list[str]:
    args = [sys.executable, "-m", "medcorpus", "run", str(config), "-o", str(out)]
    return args + ["--resume"] if resume else args


def start(args: list[str], log: Path) -> subprocess.Popen:
    env = os.environ | {"CI": "1"}
    with log.open("ab") as handle:  # its own process group: killing it kills every worker, like a lost node
        return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and is_temp_name(p.name) and "logs" not in p.parts]


def kill_when(process: subprocess.Popen, ready, timeout: float = 120, allow_finish: bool = False) -> bool:
    """SIGKILL the process group as soon as `ready()` is true (True); a run that ends first fails the test,
    or with `allow_finish` (kill points in time, on a fast machine) returns False."""
    deadline = time.monotonic() + timeout
    while not ready():
        if allow_finish and process.poll() == 0:
            return False
        assert process.poll() is None, "the run finished before the kill point was reached"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.003)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait(30) == KILLED
    return True


def exists(path: Path):
    return lambda: path.exists()


def any_temp(root: Path):
    return lambda: bool(root.exists() and temp_files(root))


def after(seconds: float):
    until = time.monotonic() + seconds
    return lambda: time.monotonic() >= until


def assert_nothing_looks_complete_but_is_not(run: Path) -> None:
    """After a kill: every file under a final name reads back whole (partial ones only under temporary names)."""
    for path in run.rglob("*"):
        if not path.is_file() or "logs" in path.parts or is_temp_name(path.name):
            continue
        if path.suffix == ".parquet":
            pq.read_metadata(path)
        elif path.name.endswith(".jsonl.gz"):
            with gzip.open(path) as handle:
                handle.read()
        elif path.suffix == ".json":
            json.loads(path.read_text())


def outputs(run: Path) -> dict:
    """What must not differ: every output's hash, every stage's counts, the mix report."""
    manifest = json.loads((run / "manifest.json").read_text())
    stages = [{k: v for k, v in stage.items() if k != "output"} for stage in manifest["stages"]]
    return {"outputs": manifest["outputs"], "stages": stages, "mix": manifest["mix"]}


def shard_bytes(run: Path) -> dict[str, bytes]:
    files = sorted((run / "shards").glob("*"))
    return {p.name: p.read_bytes() for p in files if p.is_file() and p.suffix in (".bin", ".idx", ".parquet")}


REFERENCE_SECONDS: list[float] = []


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The small config run once, uninterrupted."""
    folder = tmp_path_factory.mktemp("crash")
    config = small_config(folder / "small.yaml")
    run = folder / "reference"
    started = time.monotonic()
    process = start(command(config, run), folder / "reference.log")
    assert process.wait(180) == 0, (folder / "reference.log").read_text()[-3000:]
    REFERENCE_SECONDS.append(time.monotonic() - started)
    return config, run


def resume_chain(config: Path, run: Path, log: Path, kill_points, allow_finish: bool = False) -> list[int]:
    """Start, then for each kill point: kill there and resume (same command, --resume); finish; temp counts seen."""
    left = []
    process = start(command(config, run), log)
    for point in kill_points:
        if not kill_when(process, point(run), allow_finish=allow_finish):
            break
        # a kill at a point in time may land after the manifest is published, while the process is exiting
        assert allow_finish or not (run / "manifest.json").exists()
        assert_nothing_looks_complete_but_is_not(run)
        left.append(len(temp_files(run)))
        process = start(command(config, run, resume=True), log)
    assert process.wait(180) == 0, log.read_text()[-3000:]
    return left


def check_same(run: Path, reference: Path) -> None:
    assert shard_bytes(run) and shard_bytes(run) == shard_bytes(reference)
    expected, found = outputs(reference), outputs(run)
    assert found["stages"] == expected["stages"]  # documents in/out and removals per stage: none lost or doubled
    assert found["outputs"] == expected["outputs"]  # every intermediate and final file, byte for byte
    assert found["mix"] == expected["mix"]
    assert temp_files(run) == []


@pytest.mark.slow
def test_killed_in_every_stage_and_resumed_is_byte_identical(reference, tmp_path):
    config, ref = reference
    points = [
        lambda run: exists(run / "stages" / "01_sources" / "logs"),
        lambda run: any_temp(run / "stages" / "03_quality"),  # a writer holds a temporary file (clean + quality)
        lambda run: exists(run / "stages" / "04_dedup" / "logs" / "dedup_1"),  # between dedup's passes
        lambda run: exists(run / "stages" / "05_tokenize" / "logs"),
        lambda run: exists(run / "shards" / "logs"),  # while mixing
    ]
    run = tmp_path / "run"
    left = resume_chain(config, run, tmp_path / "run.log", points)
    check_same(run, ref)
    assert any(left), "no kill landed while a temporary file existed: the cleanup went untested"
    assert "removed" in (tmp_path / "run.log").read_text()  # the resume said it cleared them


@pytest.mark.slow
def test_killed_at_seeded_random_times_and_resumed_is_byte_identical(reference, tmp_path):
    config, ref = reference
    rng = random.Random(20240917)
    # Points in time scaled to this machine's uninterrupted run; a resumed run is shorter (finished tasks are
    # skipped), so a later point may come after it ends: then the chain stops there.
    delays = [rng.uniform(0.1, 0.6) * REFERENCE_SECONDS[0] for _ in range(3)]
    run = tmp_path / "run"
    kills = resume_chain(config, run, tmp_path / "run.log", [lambda run, d=d: after(d) for d in delays], True)
    assert kills, "not even the first kill point came before the run ended"
    check_same(run, ref)


def test_resume_refuses_changed_inputs(tmp_path):
    """A resume whose inputs changed since the run started stops, naming the file, before running anything."""
    raw = yaml.safe_load(small_config(tmp_path / "small.yaml").read_text())
    general = tmp_path / "general"
    general.mkdir()
    sample = general / "sample.jsonl"
    sample.write_bytes((SAMPLES / "general" / "sample_redpajama.jsonl").read_bytes())
    raw["sources"] = {"general": raw["sources"]["general"] | {"inputs": [str(general)]}}
    raw["mix"]["ratios"] = {"general": 1}  # the one source left is general
    edited = tmp_path / "general.yaml"
    edited.write_text(yaml.safe_dump(raw))
    run = tmp_path / "run"
    settings = load_config(edited).model_copy(update={"output": str(run)})
    run.mkdir()
    prepare_inputs(run, plan_run(settings)[-1].pipelines[0][0][0].inputs, resume=False)  # what a first attempt records
    (run / "stages").mkdir()
    sample.write_bytes(sample.read_bytes().replace(b"the", b"a", 1))
    result = subprocess.run(command(edited, run, resume=True), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"input changed: {sample}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (run / "stages" / "01_sources").exists()  # nothing ran
    verify = subprocess.run(
        [sys.executable, "-m", "medcorpus", "manifest", "verify", str(run)], capture_output=True, text=True
    )
    assert verify.returncode == 1 and f"input changed: {sample}" in verify.stderr
