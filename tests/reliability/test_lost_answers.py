"""Writes that land but whose answer never comes back: neither lost nor doubled.

The sandbox's own faults strike before a request is applied. The hard case for
at-least-once delivery is the other one: Salesforce applies the write and the answer
is lost on the way back. Here the org holds composite writes 0.8 s before applying
them and the connector gives up after 0.5 s, so the connector sees a timeout while
each write lands behind its back, sometimes twice (the retry lands too). Partner reps
keep answering, so answers can arrive on offers whose write the connector has not
confirmed yet.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from connector import ConnectorConfig, SalesforceClient
from tests.jobs.conftest import build_connector, connector_config_data
from tests.jobs.rules_for_tests import write_rules

from .invariants import baseline, check

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

HELD_MS = 800
CLIENT_TIMEOUT = 0.5
LOST_ANSWERS = 12  # composite writes whose answer the connector never gets
STEPS_HOURS = (0, 6, 12, 24, 30)


def test_writes_that_land_after_the_connector_gave_up_are_neither_lost_nor_offered_twice(
        sandbox_factory, tmp_path, figures):
    started = time.monotonic()
    sb = sandbox_factory(seed="demo", partners=100, leads=2000, random_seed=51)
    base = baseline(sb.org)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=write_rules(tmp_path, pools=True))
    cx.client.close()
    cx.client = SalesforceClient.connect(
        ConnectorConfig.model_validate({**connector_config_data(sb), "timeout": CLIENT_TIMEOUT}), clock=sb.clock.now)
    sb.faults.plan("latency", count=LOST_ANSWERS, endpoint="composite/sobjects", latency_ms=HELD_MS)

    job_errors = 0
    for hours in STEPS_HOURS:
        sb.clock.advance(timedelta(hours=hours))
        sb.simulator.step(sb.clock.now())
        sb.clock.advance(timedelta(seconds=2))
        results = cx.run_cycle(sb.clock.now(), raise_errors=False)
        job_errors += sum(1 for r in results.values() if r.error)
        time.sleep(HELD_MS / 1000)  # the held writes land before the next cycle looks
    assert not sb.faults.describe()["planned"], "every held write should have been tried"
    for _ in range(2):  # settle: read the last answers, write them back
        sb.clock.advance(timedelta(seconds=2))
        results = cx.run_cycle(sb.clock.now(), raise_errors=False)
        job_errors += sum(1 for r in results.values() if r.error)

    verdict = check(sb.org, cx.store, base)
    # The org's own log: composite writes it applied (200) after holding them longer
    # than the connector waited — each one an answer the connector never read. Held by the
    # fault, not merely slow: on a loaded host an ordinary write can take as long.
    applied_unseen = sum(1 for r in sb.counters.requests("PATCH composite/sobjects")
                         if r.status == 200 and r.held_ms >= HELD_MS)
    figures.record("lost answers: writes applied after the connector timed out", {
        "leads": len(base.routable),
        "writes_held_past_the_client_timeout": LOST_ANSWERS,
        "applied_by_the_org_after_the_connector_gave_up": applied_unseen,
        "held_ms": HELD_MS,
        "client_timeout_s": CLIENT_TIMEOUT,
        "job_runs_failed_and_redone": job_errors,
        "connector_retries": cx.client.policy.retries,
        **verdict.figures(),
        "seconds": round(time.monotonic() - started, 1),
    })
    cx.client.close()
    cx.store.dispose()
    assert applied_unseen == LOST_ANSWERS, "each held write should have landed after the timeout"
    verdict.assert_sound("after writes whose answers were lost")
    assert not verdict.stranded, f"{len(verdict.stranded)} leads stranded, e.g. {verdict.stranded[:3]}"
