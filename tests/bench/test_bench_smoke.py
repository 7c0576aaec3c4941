"""The benchmark scripts still run and still report what BENCHMARKS.md quotes.

Not benchmarks: tiny sizes, run as a user runs them (`python bench/X.py ... --json`),
all four at once so the whole file stays well under half a minute. The figures are
checked for sense (calls made, memory used, time passed), never for speed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = {
    "sync": ["--leads", "300", "--partners", "30", "--offers", "300", "--answer-share", "0.05"],
    "backfill": ["--leads", "600", "--templates", "200", "--partners", "30"],
    "latency": ["--samples", "1", "--partners", "30"],
    "rebuild": ["--leads", "300", "--partners", "30"],
}

# one worker runs the whole module: the three scripts run once (`reports`), not once per worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_bench_smoke")]


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    procs = {name: subprocess.Popen([sys.executable, str(ROOT / "bench" / f"{name}.py"), *args, "--json"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, args in RUNS.items()}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"bench/{name}.py failed:\n{stderr[-3000:]}"
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


def test_sync_routes_every_lead_with_far_fewer_calls_than_per_record_writes(reports):
    r = reports["sync"]
    assert r["routed_and_written"] == r["leads"] == 300
    assert 0 < r["floor_calls"] <= r["api_calls"]
    assert r["api_calls_per_1000"] == pytest.approx(r["api_calls"] * 1000 / r["leads"], abs=0.01)
    assert r["floor_per_1000"] == pytest.approx((1 + 2) * 1000 / 300, abs=0.01)  # 1 page + 2 collection calls
    # the baseline writes one PATCH per lead on top of the same read
    assert r["per_record_calls"] >= r["leads"] + 1
    assert r["api_calls"] < r["per_record_calls"]


def test_sync_poll_cycle_is_counted_over_live_offers_with_answers(reports):
    r = reports["sync"]
    assert r["poll_open_offers"] > 0
    assert r["poll_answers"]["accepted"] + r["poll_answers"]["rejected"] > 0
    assert r["poll_calls_50k_offers"] > 0
    assert r["poll_calls_50k_offers"] == sum(r["poll_calls_by_job"].values())
    assert r["poll_reread_all_calls"] >= 1


def test_backfill_reads_every_lead_and_reports_the_connector_process_memory(reports):
    r = reports["backfill"]
    assert r["leads_read"] == r["leads"] == 600
    assert r["peak_rss_mb"] > 0
    assert r["peak_rss_mb"] >= r["rss_after_start_mb"] > 0
    assert r["leads_per_second"] > 0
    assert r["api_calls"] >= 1 + 3  # at least one page and three collection calls for 600 leads


def test_latency_measures_a_new_lead_until_its_owner_is_written(reports):
    r = reports["latency"]
    fast = r["latency_fast_seconds"]
    assert fast["samples"] == 1
    assert 0 < fast["min"] <= fast["max"] < 60
    assert r["fastest_schedule"]["leads"] <= r["default_schedule"]["leads"]
    assert r["processing_seconds"]["p50"] > 0
    # derived for the default schedule: half its interval plus the measured processing
    assert r["latency_default_expected_seconds"] == pytest.approx(
        r["default_schedule"]["leads"] / 2 + r["processing_seconds"]["p50"], abs=0.01)
    assert r["default_measured"] is False


def test_rebuild_puts_back_every_routed_lead_of_the_org_and_reports_its_cost(reports):
    r = reports["rebuild"]
    c = r["counts"]
    assert c.get("offered", 0) + c.get("pooled", 0) + c.get("accepted", 0) + c.get("parked", 0) == r["leads"]
    assert c.get("declines", 0) == r["offers"].get("rejected", 0)  # each decline, with its reason
    assert r["api_calls"] > 0 and r["rebuild_s"] > 0 and r["peak_rss_mb"] > 0
