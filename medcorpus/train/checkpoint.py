"""Distributed checkpoints: model + optimizer via torch.distributed.checkpoint, small state as JSON.

A checkpoint is the folder `<out>/step_<NNNNNNNN>`. Every rank writes its shards into
`<out>/.step_<NNNNNNNN>.tmp`; after a barrier rank 0 writes `train_state.json` (step, scheduler,
each rank's data-loader state, run settings) and renames the folder into place, so a folder named
`step_*` that holds `train_state.json` is always complete and a crash mid-save leaves only a `.tmp`.
A shared filesystem across nodes is assumed (as for any DCP checkpoint).
"""

from __future__ import annotations

import json
import os
import re
import shutil

STATE_FILE = "train_state.json"
STEP_DIR = re.compile(r"^step_(\d{8})$")


def step_dir(out: str, step: int) -> str:
    return os.path.join(out, f"step_{step:08d}")


def latest_checkpoint(out: str) -> str | None:
    """The complete checkpoint folder with the highest step under `out`, or None."""
    if not os.path.isdir(out):
        return None
    found = []
    for name in os.listdir(out):
        match = STEP_DIR.match(name)
        if match and os.path.isfile(os.path.join(out, name, STATE_FILE)):
            found.append((int(match.group(1)), os.path.join(out, name)))
    return max(found)[1] if found else None


def remove_partial(out: str) -> None:
    """Delete leftover `.step_*.tmp` folders of an interrupted save (rank 0, before training)."""
    if os.path.isdir(out):
        for name in os.listdir(out):
            if name.startswith(".step_") and name.endswith(".tmp"):
                shutil.rmtree(os.path.join(out, name), ignore_errors=True)


def prune(out: str, keep: int) -> None:
    """Keep only the `keep` newest complete checkpoints (keep <= 0 keeps all)."""
    if keep <= 0:
        return
    steps = sorted(name for name in os.listdir(out) if STEP_DIR.match(name))
    for name in steps[:-keep]:
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)


def save(out: str, step: int, model, optimizer, small_state: dict, data_state: dict, keep: int = 0) -> str:
    """Collective: write checkpoint `step` (every rank calls this with its own `data_state`); returns its folder."""
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    rank = dist.get_rank()
    final = step_dir(out, step)
    temporary = os.path.join(out, f".step_{step:08d}.tmp")
    if rank == 0:
        shutil.rmtree(temporary, ignore_errors=True)
        os.makedirs(temporary)
    dist.barrier()
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=temporary)
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, data_state)
    dist.barrier()
    if rank == 0:
        with open(os.path.join(temporary, STATE_FILE), "w") as handle:
            json.dump({**small_state, "step": step, "data": gathered}, handle, indent=1, sort_keys=True)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(temporary, final)
        prune(out, keep)
    dist.barrier()
    return final


def load(folder: str, model, optimizer) -> dict:
    """Collective: load model and optimizer in place from `folder`; returns the JSON small state."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_state, optimizer_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=folder)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])
    with open(os.path.join(folder, STATE_FILE)) as handle:
        return json.load(handle)
