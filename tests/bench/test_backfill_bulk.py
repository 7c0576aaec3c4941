"""bench/backfill.py takes the jobs' Bulk API 2.0 path from the threshold on and reports
what issue 18's bars quote: every lead read, decided, committed and written back through
one query job and one ingest job in a handful of calls, the connector's CPU rate, and
(with --stages) where that CPU goes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_a_backfill_over_the_threshold_runs_the_jobs_bulk_path_in_a_few_calls():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "backfill.py"), "--leads", "800", "--templates", "200", "--partners", "30",
         "--bulk-threshold", "100", "--stages", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["path"] == "bulk" and r["bulk_jobs"] == 2  # one query job, one ingest job
    assert r["leads_read"] == r["leads_written"] == r["outcomes"]["bulk_read"] == 800
    assert sum(v for k, v in r["outcomes"].items() if k.startswith("routed_")) == 800, "every lead decided by the job"
    # COUNT(); query: create, state reads, 1 page, describe; ingest: create, upload, close,
    # state reads, successful results; the outbox guard; offer alerts
    assert r["api_calls"] <= 20
    endpoints = r["api_calls_by_endpoint"]
    assert "PATCH composite/sobjects" not in endpoints and endpoints["PUT jobs/ingest/{id}/batches"] == 1
    assert r["connector_cpu_leads_per_s"] > 0 and r["leads_per_s"] > 0
    stages = dict(r["stages_cpu_us_per_lead"])
    assert stages["handle_page (everything below)"] >= stages["  decide (Router.decide)"] > 0
    assert stages["bulk write-back (everything below)"] > 0
