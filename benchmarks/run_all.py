"""Run every benchmark script in this folder, one after another (`make bench`).

`bench_scale.py` is left out: it builds and runs a 6-file corpus, minutes of work (`make bench-scale`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEPARATE = {"bench_scale.py"}

if __name__ == "__main__":
    failed = []
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        if script.name in SEPARATE:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
