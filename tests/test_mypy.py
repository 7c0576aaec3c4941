"""`./dev test` runs mypy, strict on rules/ and connector/ (the settings are [tool.mypy] in pyproject.toml)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_rules_and_connector_pass_mypy_strict():
    pytest.importorskip("mypy", reason="mypy is in the [test] extra (`./dev test` installs it)")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, "mypy found problems (fix the types; a targeted ignore needs its reason):\n" + \
        done.stdout + done.stderr


def test_mypy_reads_the_projects_settings(tmp_path):
    """The check above is only as good as its configuration: strict must flag an unannotated function."""
    pytest.importorskip("mypy", reason="mypy is in the [test] extra (`./dev test` installs it)")
    probe = tmp_path / "probe.py"
    probe.write_text("def f(x):\n    return x\n")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml"),
                           str(probe)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1 and "no-untyped-def" in done.stdout, done.stdout + done.stderr
