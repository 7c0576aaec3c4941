"""`./dev test` runs ruff with the rules in pyproject.toml ([tool.ruff]) over the checkout."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> str | None:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


def test_the_code_passes_ruff():
    exe = ruff()
    if exe is None:
        pytest.skip("ruff is not installed: it is in the [test] extra (`./dev test` installs it)")
    done = subprocess.run([exe, "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, "ruff found problems (fix them, or `ruff check --fix`):\n" + done.stdout + done.stderr


def test_ruff_reads_the_projects_rules(tmp_path):
    """The check above is only as good as its configuration: it must flag an unused import."""
    exe = ruff()
    if exe is None:
        pytest.skip("ruff is not installed: it is in the [test] extra (`./dev test` installs it)")
    probe = tmp_path / "probe.py"
    probe.write_text("import os\n")
    done = subprocess.run([exe, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(probe)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "F401" in done.stdout
