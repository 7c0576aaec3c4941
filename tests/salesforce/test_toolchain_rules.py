"""When the Node toolchain is missing, a Node test says why: skipped with the install's
own failure when ./dev tried and failed, a failure under CI when nothing was installed."""
from __future__ import annotations

import pytest

from tests.salesforce import toolchain


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchain, "BIN", tmp_path / "bin")
    monkeypatch.setattr(toolchain, "FAILED", tmp_path / ".install-failed")
    return tmp_path


def test_a_failed_install_skips_with_its_reason(nowhere, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (nowhere / ".install-failed").write_text("npm ci in salesforce/ failed (exit 124, timed out after 900 s)\nlog…")
    with pytest.raises(pytest.skip.Exception, match="exit 124, timed out after 900 s"):
        toolchain.require("sf")


def test_nothing_installed_under_ci_is_a_failure(nowhere, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI ./dev must have installed them"):
        toolchain.require("sf")


def test_nothing_installed_locally_skips_with_how_to_install(nowhere, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"`./dev test` installs them"):
        toolchain.require("sf")
