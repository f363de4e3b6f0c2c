"""What the benchmark scripts share: where the real data is, and measuring a run in its own process."""

from __future__ import annotations

import multiprocessing
import os
import resource
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def peak_rss_mb() -> float:
    """Peak RSS in MB of this process or of the largest process it started."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def in_child(function, *args, quiet: bool = False) -> dict:
    """Run `function(*args)` in a forked process: its result dict plus `peak_rss_mb` of that process.

    `quiet` silences the child's stderr (datatrove's per-task logs, which also go to its logs folder).
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def target() -> None:
        if quiet:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        result = function(*args)
        result["peak_rss_mb"] = peak_rss_mb()
        queue.put(result)

    process = context.Process(target=target)
    process.start()
    result = queue.get()
    process.join()
    return result


def rss_kb(pid: int) -> int:
    """Resident set of process `pid` in kB (0 when it is gone), from /proc."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
    except (OSError, ValueError):
        return 0


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(parent, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(parents.get(pid, []))
    return found


def tree_rss_kb(root: int) -> int:
    """Resident set of process `root` and all its descendants, summed, in kB."""
    return sum(rss_kb(pid) for pid in process_tree(root))
