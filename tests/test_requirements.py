"""Missing requirements skip a developer's test run but fail under CI's strict mode."""

from __future__ import annotations

import pytest
from support import requirements


def test_missing_module_skips_by_default(monkeypatch):
    monkeypatch.delenv(requirements.STRICT_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_module_here"):
        requirements.require_module("no_such_module_here")


def test_missing_module_fails_in_strict_mode(monkeypatch):
    monkeypatch.setenv(requirements.STRICT_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="required, not skipped"):
        requirements.require_module("no_such_module_here")


def test_present_module_is_returned(monkeypatch):
    monkeypatch.setenv(requirements.STRICT_VARIABLE, "1")
    assert requirements.require_module("json").dumps([1]) == "[1]"
