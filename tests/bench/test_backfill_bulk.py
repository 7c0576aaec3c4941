"""bench/backfill.py --bulk still runs and reports what issue 18's bars quote: every lead
read and written through Bulk API 2.0 jobs in a handful of calls, the connector's CPU rate."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_bulk_backfill_reads_and_writes_every_lead_in_a_few_calls():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "backfill.py"), "--leads", "800", "--templates", "200", "--partners", "30",
         "--bulk", "--bulk-threshold", "100", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["path"] == "bulk" and r["bulk_jobs"] == 2  # one query job, one ingest job
    assert r["leads_read"] == r["leads_written"] == 800
    # query: create, 2 state reads, 1 page, describe; ingest: create, upload, close, 2 state reads, 3 result files
    assert r["api_calls"] <= 13
    endpoints = r["api_calls_by_endpoint"]
    assert "PATCH composite/sobjects" not in endpoints and endpoints["PUT jobs/ingest/{id}/batches"] == 1
    assert r["connector_cpu_leads_per_s"] > 0 and r["leads_per_s"] > 0
