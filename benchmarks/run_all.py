"""Run every benchmark script in this folder, one after another (`make bench`).

Scripts that need arguments get those of `ARGS`: the GPU training benchmark runs its loaders-only part
(the GPU figures need a GPU machine: see benchmarks/README.md)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ARGS = {"bench_train_gpu.py": ["--loaders-only", "--out", "{tmp}"]}

if __name__ == "__main__":
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in sorted(Path(__file__).parent.glob("bench_*.py")):
            print(f"\n=== {script.name} ===", flush=True)
            args = [arg.format(tmp=tmp) for arg in ARGS.get(script.name, [])]
            if subprocess.run([sys.executable, str(script), *args], check=False).returncode != 0:
                failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
