"""Run every benchmark script in this folder, one after another (`make bench`).

Scripts that need arguments get those of `ARGS`: the GPU training benchmark runs its loaders-only part
(the GPU figures need a GPU machine: see benchmarks/README.md). `bench_scale.py` is left out: it builds
and runs a 6-file corpus, minutes of work (`make bench-scale`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ARGS = {"bench_train_gpu.py": ["--loaders-only", "--out", "{tmp}"]}
SEPARATE = {"bench_scale.py"}

if __name__ == "__main__":
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for script in sorted(Path(__file__).parent.glob("bench_*.py")):
            if script.name in SEPARATE:
                continue
            print(f"\n=== {script.name} ===", flush=True)
            args = [arg.format(tmp=tmp) for arg in ARGS.get(script.name, [])]
            if subprocess.run([sys.executable, str(script), *args], check=False).returncode != 0:
                failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
