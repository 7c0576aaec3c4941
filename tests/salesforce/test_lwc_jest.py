"""The partner portal's Lightning Web Component, tested by its own Jest suite
(@salesforce/sfdx-lwc-jest under Node 22): one pytest test runs it and names each
failing Jest test."""
from __future__ import annotations

import json
import subprocess

from tests.salesforce.toolchain import SALESFORCE, require


def test_lwc_jest_suite_passes(tmp_path):
    env = require("sfdx-lwc-jest")
    report = tmp_path / "jest.json"
    run = subprocess.run(
        ["sfdx-lwc-jest", "--", "--ci", "--json", f"--outputFile={report}"],
        cwd=SALESFORCE, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert report.exists(), f"jest wrote no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    result = json.loads(report.read_text())
    failed = [f"{t['fullName']}: {' '.join(t['failureMessages'])[:400]}"
              for suite in result["testResults"] for t in suite["assertionResults"] if t["status"] != "passed"]  # fmt: skip
    assert failed == [], "\n".join(failed)
    assert result["numTotalTests"] > 0 and run.returncode == 0, run.stderr[-3000:]
