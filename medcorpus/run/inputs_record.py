"""The inputs of a run, hashed when it starts: a resume refuses to mix old and new data.

`<output>/inputs.json` lists every input file (path, size, sha256) as the run first saw them.
`medcorpus run --resume` re-hashes them and stops, naming each file, when any was changed,
removed or added; `medcorpus manifest verify` reports the same problems.
"""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.utils.logging import logger

from medcorpus.io.atomic import atomic_write_text, remove_stale_temps
from medcorpus.io.hashing import describe_files, file_change, recorded_path
from medcorpus.run.config import ConfigError

INPUTS_FILE = "inputs.json"


def describe_inputs(paths: list[str]) -> list[dict]:
    """Path, size and sha256 of each local input (remote URLs by name only), in order, without repeats."""
    return describe_files(list(dict.fromkeys(paths)))


def record_inputs(root: str | Path, paths: list[str]) -> list[dict]:
    """Hash the inputs and write them to `<root>/inputs.json` (atomically); returns the entries."""
    entries = describe_inputs(paths)
    atomic_write_text(Path(root) / INPUTS_FILE, json.dumps({"inputs": entries}, indent=1, sort_keys=True))
    return entries


def read_recorded(root: str | Path) -> list[dict] | None:
    """The inputs recorded when the run in `root` started, or None when none were."""
    path = Path(root) / INPUTS_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())["inputs"]


def input_problems(recorded: list[dict], current: list[str] | None = None) -> list[str]:
    """Recorded inputs that are missing or changed now (and, given the current list, inputs added)."""
    problems = []
    for entry in recorded:
        if "sha256" not in entry:
            continue  # remote input: listed by name only
        path = Path(entry["path"])
        change = file_change(path, entry)
        if change == "missing":
            problems.append(f"input missing: {path}")
        elif change:
            problems.append(f"input changed: {path} ({'sha256 differs' if change == 'sha256' else change})")
    if current is not None:
        now = [recorded_path(path) for path in current]
        known = {entry["path"] for entry in recorded}
        problems += [f"input added: {path}" for path in now if path not in known]
        problems += [f"input no longer listed: {entry['path']}" for entry in recorded if entry["path"] not in now]
    return problems


def prepare_inputs(root: str | Path, paths: list[str], resume: bool) -> None:
    """At the start of a run: record the inputs, or, on a resume, check them and clear stale temporary files.

    Raises ConfigError naming every changed, missing or added input when a resume would mix old and new data.
    """
    recorded = read_recorded(root) if resume else None
    if recorded is None:
        if resume and any(Path(root).iterdir()):
            logger.warning(f"{root}: no {INPUTS_FILE} from the first attempt; inputs cannot be checked this time")
        record_inputs(root, paths)
    else:
        problems = input_problems(recorded, list(dict.fromkeys(paths)))
        if problems:
            raise ConfigError(
                f"--resume: the inputs changed since {root} was started, so a resume would mix old and new data:\n  "
                + "\n  ".join(problems)
                + "\nrestore them, or start over with --overwrite"
            )
    if resume:
        removed = remove_stale_temps(root)
        if removed:
            logger.info(f"resume: removed {len(removed)} temporary files left by interrupted tasks")
