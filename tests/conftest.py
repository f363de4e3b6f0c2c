"""Shared fixtures: the real public data beside the project, and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared" / "data"
EXAMPLES = PROJECT / "examples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or skip the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"real test data not found at {SHARED}")
    return SHARED
