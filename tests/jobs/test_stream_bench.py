"""bench/sync.py --mode cdc still runs and reports figures that make sense (never its speed).

(bench/latency.py --mode cdc simulates two idle days and takes minutes: not run here.)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKETIME = pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                              reason="`leadrouter run` / the benchmark's scheduler wait with timeouts, which "
                                     "hang under libfaketime (RELIABILITY.md, 'The faketime hang')")
pytestmark = [FAKETIME, pytest.mark.e2e]


def test_sync_cdc_routes_every_arriving_lead_and_counts_its_calls():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "sync.py"), "--mode", "cdc", "--leads", "300",
                           "--partners", "30", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["mode"] == "cdc" and r["routed_and_written"] == 300
    writes = r["calls_by_endpoint"].get("PATCH composite/sobjects", 0)
    assert writes >= 2 and r["api_calls"] >= writes  # 300 leads take two collections of 200 at least
    assert r["api_calls_per_1000"] == pytest.approx(r["api_calls"] * 1000 / 300, abs=0.01)
