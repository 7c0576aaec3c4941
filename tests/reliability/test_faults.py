"""10,000 leads routed while one API request in five fails: nothing lost, nothing offered twice.

The connector runs its real cycle over HTTPS against a sandbox org whose every API
request has a 20% chance of a transient fault — 503, a row lock, a dropped
connection, an expired session — and whose composite writes often fail for some of
their records (UNABLE_TO_LOCK_ROW). Partner reps answer in the portal as simulated
time passes: accept, reject, or let the offer lapse, so leads get redistributed and
escalated under the same faults. Then the run settles, faults still on, and every
lead is checked against the org and the state database.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from sandbox.faults import PROFILES
from tests.jobs.conftest import build_connector
from tests.jobs.rules_for_tests import write_rules

from .invariants import baseline, check

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

LEADS = 10_000
PARTNERS = 100
# One request in five fails before it is served; of the composite writes that get
# through, one in five has 5% of its records refused with a row lock.
TWENTY_PERCENT = {"503": 0.06, "lock": 0.05, "drop": 0.05, "expire": 0.04, "record_failures": (0.2, 0.05)}
REQUEST_KINDS = ("503", "500", "lock", "drop", "expire")
# Simulated hours between cycles: answers come in, offers (24 h windows) lapse and
# are redistributed, third attempts escalate.
STEPS_HOURS = (0, 6, 6, 12, 24, 24, 30)
SETTLE_CYCLES = 8


def open_outbox(cx) -> int:
    from jobs.state import outbox as ob

    with cx.store.connect() as conn:
        counts = ob.status_counts(conn)
    return counts.get("pending", 0) + counts.get("sent", 0)


def test_ten_thousand_leads_under_twenty_percent_faults_end_final_or_live_never_lost_never_twice(
        sandbox_factory, tmp_path, monkeypatch, figures):
    started = time.monotonic()
    sb = sandbox_factory(seed="demo", partners=PARTNERS, leads=LEADS, random_seed=11)
    base = baseline(sb.org)
    assert len(base.routable) > 0.9 * LEADS, "the seed should give the connector leads to route"
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=write_rules(tmp_path, pools=True))
    monkeypatch.setitem(PROFILES, "twenty-percent", TWENTY_PERCENT)
    sb.counters.reset()
    sb.faults.set_profile("twenty-percent", seed=20)

    cycles = job_errors = 0
    for hours in STEPS_HOURS:
        sb.clock.advance(timedelta(hours=hours))
        sb.simulator.step(sb.clock.now())
        sb.clock.advance(timedelta(seconds=2))  # SOQL datetimes have whole seconds
        results = cx.run_cycle(sb.clock.now(), raise_errors=False)
        cycles += 1
        job_errors += sum(1 for r in results.values() if r.error)

    # Settle with the faults still on: no new answers, no new time, until every
    # decided write is confirmed (or consciously dropped) and a cycle ran clean.
    settle = 0
    for settle in range(1, SETTLE_CYCLES + 1):
        sb.clock.advance(timedelta(seconds=2))
        results = cx.run_cycle(sb.clock.now(), raise_errors=False)
        cycles += 1
        errors = sum(1 for r in results.values() if r.error)
        job_errors += errors
        if not errors and open_outbox(cx) == 0:
            break

    injected = sb.faults.describe()["injected"]
    traffic = sb.counters.snapshot()
    request_faults = sum(injected.get(k, 0) for k in REQUEST_KINDS)
    # every request to the REST API, answered or not (logins to the token endpoint aside)
    api_requests = traffic["requests"] - traffic["endpoints"].get("POST services/oauth2/token", 0)
    sb.faults.clear()
    verdict = check(sb.org, cx.store, base)
    figures.record("faults: 10,000 leads, 20% transient faults", {
        "leads_seeded": LEADS,
        "leads_routable": len(base.routable),
        "api_requests": api_requests,
        "faults_injected": injected,
        "request_fault_rate": round(request_faults / max(1, api_requests), 3),
        "cycles": cycles,
        "settle_cycles": settle,
        "job_runs_failed_and_retried_next_cycle": job_errors,
        "connector_retries": cx.client.policy.retries,
        **verdict.figures(),
        "seconds": round(time.monotonic() - started, 1),
    })
    assert request_faults / max(1, api_requests) > 0.15, "the org should really have failed ~1 request in 5"
    missing = [k for k in ("503", "lock", "drop", "expire", "record_failures") if not injected.get(k)]
    assert not missing, f"every kind of fault should have struck at least once; never: {missing}"
    verdict.assert_sound("after 20% transient faults")
    assert verdict.redistributions > 0, "the run should have redistributed rejected and lapsed offers"
    # Let go "because a person won" although no person touched a lead: RELIABILITY.md,
    # gap 2 (expire after a failed read; fixed in jobs b4a506d).
    assert not verdict.stranded, f"{len(verdict.stranded)} leads stranded, e.g. {verdict.stranded[:3]}"
