"""`./dev <command>` reads and writes the paths it is given where they were typed: run from
another directory, `dev demo --data ./org --report r.html` put the org and the report in
the checkout, and `dev validate --config cfg.toml` said there was no such file."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parents[2] / "dev"


@pytest.mark.skipif(not (DEV.parent / ".venv" / ".leadrouter-installed").exists(),
                    reason="the checkout's .venv is not bootstrapped (run ./dev once)")
def test_a_config_named_relative_to_the_callers_directory_is_the_one_read(tmp_path):
    (tmp_path / "cfg.toml").write_text("this is = = not toml\n")
    done = subprocess.run([str(DEV), "validate", "--config", "cfg.toml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "CI": "true"})
    said = done.stdout + done.stderr
    assert "no such config file" not in said
    assert "cfg.toml:1: not valid TOML" in said, said
