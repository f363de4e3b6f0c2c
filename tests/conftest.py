"""Shared fixtures: the real public data beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import SHARED
from support.requirements import missing


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; skipped when absent, failed under `MEDCORPUS_STRICT_TESTS=1` (CI)."""
    if not SHARED.is_dir():
        missing(f"real test data not found at {SHARED}")
    return SHARED
