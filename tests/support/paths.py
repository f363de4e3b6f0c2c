"""Where the tests find their inputs: the project, its bundled samples, and the real data beside it."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SAMPLES = PROJECT / "medcorpus" / "sample_inputs"
EXAMPLES = PROJECT / "examples"
SNAPSHOTS = PROJECT / "tests" / "snapshots"
SHARED = PROJECT.parent / "shared" / "data"
