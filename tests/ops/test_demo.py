"""The demo runs the real loop against a seeded sandbox and says what happened."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KEYS = {"leads", "offered", "accepted", "rejected", "lapsed", "redistributed", "escalated", "unroutable", "api_calls", "report"}


def test_demo_json_summary_counts_a_full_loop(tmp_path):
    report = tmp_path / "demo.html"
    data = tmp_path / "kept"
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "demo", "--partners", "25", "--leads", "300", "--days", "1",
         "--json", "--report", str(report), "--data", str(data)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= set(summary)
    assert summary["leads"] == 300
    assert summary["offered"] > 0 and summary["accepted"] > 0 and summary["rejected"] > 0
    assert summary["lapsed"] > 0 and summary["redistributed"] > 0  # offers lapse and move on within the day
    assert 0 < summary["api_calls"] < 2000
    assert Path(summary["report"]) == report and "<svg" in report.read_text()
    # --data keeps the org: a sandbox can reopen it
    assert (data / "org" / "connection.json").exists() and (data / "leadrouter.sqlite").exists()
