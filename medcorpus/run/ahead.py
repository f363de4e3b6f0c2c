"""Signing ahead: a multi-pass stage's first pass (signatures) computed on the documents the stage before is
writing, so the stage does not read its whole input back just to sign it (config runs with `fuse_steps`).

A stage's first and last passes must see each task's documents in the same order: both read the input folder
with datatrove's sharding (task r gets files r, r + n, ... of the sorted listing). The stage before wrote, in
task r, `<source>/<r>.<suffix>` for each source it kept documents of, in the order it met them. When every
task wrote every source (a full grid) and a task met its sources one after another in sorted order
(`grouped`, checked as it writes), task r of the next stage reads exactly task r's files, in the order they
were written: the positions signed ahead are the positions the last pass will see. A task signs ahead with
the next stage's own signature step and leaves a marker (`<rank>.json`: tasks, documents, grouped); the
next stage's signature pass uses them only when the grid is full and its marker says grouped, and otherwise
reads and signs as before (the same files either way, tested).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.io.atomic import atomic_write_text


class Ahead:
    """Where a stage's first pass is signed ahead (`markers`) and the input folder it would read (`inputs`,
    files ending in `suffix`)."""

    def __init__(self, markers: str, inputs: str, suffix: str):
        self.markers, self.inputs, self.suffix = markers, inputs, suffix

    def _marker(self, rank: int) -> Path:
        return Path(self.markers, f"{rank:05d}.json")

    def mark(self, rank: int, world_size: int, documents: int, grouped: bool) -> None:
        """Record that task `rank` of `world_size` signed `documents` documents ahead."""
        payload = {"tasks": world_size, "documents": documents, "grouped": grouped}
        atomic_write_text(self._marker(rank), json.dumps(payload))

    def full_grid(self, world_size: int) -> bool:
        """Whether every source folder of the input holds exactly one file per task, named by its rank."""
        names: dict[str, set[str]] = defaultdict(set)
        for path in Path(self.inputs).glob(f"*/*{self.suffix}"):
            names[path.parent.name].add(path.name)
        expected = {f"{rank:05d}{self.suffix}" for rank in range(world_size)}
        return bool(names) and all(found == expected for found in names.values())

    def signed(self, rank: int, world_size: int) -> int | None:
        """The documents task `rank` signed ahead, when those signatures are the ones its own pass would make;
        else None (the pass reads and signs)."""
        path = self._marker(rank)
        if not path.is_file():
            return None
        marker = json.loads(path.read_text())
        if marker["tasks"] != world_size or not marker["grouped"] or not self.full_grid(world_size):
            return None
        return int(marker["documents"])


class SignAhead(PipelineStep):
    """Just before a stage's writer: passes every document on, signing it with the next stage's signature step
    (`sign`: its `signer(rank)`, a context manager), then leaves the marker `Ahead.signed` checks."""

    type = "🫂 - DEDUPS"
    name = "signatures ahead"

    def __init__(self, sign, ahead: Ahead):
        super().__init__()
        self.sign, self.ahead = sign, ahead

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        seen: list[str] = []  # the folders the writer puts the documents in, in order of first meeting
        grouped, count = True, 0
        with self.sign.signer(rank) as signer:  # saved when every document has passed, else nothing is kept
            for document in data:
                folder = f"{document.metadata.get('source')}/"  # as the sorted listing orders them
                if not seen or seen[-1] != folder:
                    grouped = grouped and folder not in seen and (not seen or folder > seen[-1])
                    seen.append(folder)
                signer.add(document)
                count += 1  # (counted in the marker, not in step stats: the manifest shows the stage's own steps)
                yield document
        self.ahead.mark(rank, world_size, count, grouped)
