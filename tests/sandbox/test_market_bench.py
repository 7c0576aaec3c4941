"""bench/quality.py still runs and reports what BENCHMARKS.md quotes (tiny size; the figures
are checked for sense, never for a bar)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quality_bench_reports_oracle_ratio_lift_and_fair_share_per_shape():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "quality.py"), "--leads", "1500", "--partners", "30",
                           "--seeds", "1", "--shapes", "independent,drift", "--jobs", "1", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(r["per_shape"]) == {"independent", "drift"}
    for key in ("oracle_ratio", "oracle_ratio_after_warmup", "lift_over_round_robin", "min_share_of_fair",
                "round_robin_oracle_ratio", "partner_oracle_ratio"):
        assert isinstance(r[key], float), key
        assert all(isinstance(f[key], float) for f in r["per_shape"].values()), key
    conv = r["conversions"]
    assert conv["oracle"] > conv["round_robin"] > 0 and conv["predictive"] > 0  # knowing the truth pays
    assert conv["oracle"] >= conv["partner_oracle"] * 0.97  # knowing segments too pays (or nearly ties)
    assert 0 < r["oracle_ratio"] < 1.2 and r["min_share_of_fair"] > 0


def test_quality_bench_profile_says_what_each_part_of_the_truth_is_worth():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "quality.py"), "--leads", "1500", "--partners", "30",
                           "--seeds", "1", "--shapes", "independent", "--jobs", "1", "--profile", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    prof = r["profile"]
    assert set(prof) == {"priced_oracle", "oracle_no_industry", "oracle_no_product_size", "oracle_no_segments", "floor_oracle",
                         "convert_known", "closes_at_once"}
    assert all(isinstance(v, float) and 0 < v < 1.3 for v in prof.values())
    # withholding every affinity cannot beat withholding one of them by much (noise at this size)
    assert prof["oracle_no_segments"] <= max(prof["oracle_no_industry"], prof["oracle_no_product_size"]) + 0.05
    assert r["per_shape"]["independent"]["profile"] == prof
