"""What a test needs from outside the project: real data, an extra, a system tool.

Locally a missing requirement skips the test with its reason. With `MEDCORPUS_STRICT_TESTS=1`
(`.ci/run` sets it) a missing shared data folder, Python extra or module fails the test instead,
so CI cannot go green by skipping what the project's own files are meant to install.
"""

from __future__ import annotations

import importlib
import os
import warnings

import pytest

STRICT_VARIABLE = "MEDCORPUS_STRICT_TESTS"


def strict() -> bool:
    """Whether missing requirements fail (CI) rather than skip (a developer's partial install)."""
    return os.environ.get(STRICT_VARIABLE) == "1"


def missing(reason: str) -> None:
    """Skip the running test, or fail it under strict mode, naming what is missing."""
    if strict():
        pytest.fail(f"{reason} ({STRICT_VARIABLE}=1: required, not skipped)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str, reason: str | None = None):
    """Import and return module `name`, or report it `missing`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. megatron-core on a CPU without Transformer Engine
            return importlib.import_module(name)
    except ImportError as error:
        missing(reason or f"{name} is not importable ({error})")
