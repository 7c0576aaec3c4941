"""The README's Quickstart on a kept org, as a new user types it: `demo --data DIR`, then
`sandbox serve --data DIR/org` in one terminal, `sandbox add-leads 5 --data DIR/org` and
`once --config DIR/leadrouter.toml` in another: the added leads are routed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)  # fmt: skip


@pytest.mark.e2e
def test_leads_added_to_a_reopened_demo_org_are_routed_by_once(tmp_path):
    data = tmp_path / "demo-org"
    # the demo moves the org's clock a day ahead of the host's while it routes
    demo = _cli("demo", "--partners", "10", "--leads", "60", "--days", "1", "--json",
                "--report", str(tmp_path / "report.html"), "--data", str(data), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    serve = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sandbox", "serve", "--data", str(data / "org")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = serve.stderr.readline()
            if not line or line.startswith("sandbox ready"):
                break
        assert line.startswith("sandbox ready"), line
        added = _cli("sandbox", "add-leads", "5", "--data", str(data / "org"), "--json", cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        ids = json.loads(added.stdout.strip().splitlines()[-1])["ids"]
        config = str(data / "leadrouter.toml")
        once = _cli("once", "--config", config, cwd=tmp_path)
        assert once.returncode == 0, once.stderr[-3000:]
        for lead_id in ids:
            explained = _cli("explain", lead_id, "--config", config, "--json", cwd=tmp_path)
            assert explained.returncode == 0, explained.stderr
            assert json.loads(explained.stdout)["history"], f"{lead_id} was not routed: {explained.stdout[:800]}"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)
