"""The failures the suite found, each reduced to one small deterministic story.

While a bug is open its story is marked xfail(strict=True), naming the package and
the function at fault: XFAIL while the bug is there, XPASS (red) the day it is
fixed, so the mark comes off and the story stays as a regression test.
RELIABILITY.md ("Known gaps") says the same in prose.
"""
from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest

from sandbox.simulator import Profile
from tests.jobs.conftest import SECRET_ENV, build_connector
from tests.jobs.rules_for_tests import write_rules
from tests.jobs.test_crash_e2e import leadrouter, write_config

from .invariants import baseline, check

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

REJECT_AT_ONCE = Profile("reject-at-once", accept=0.0, reject=1.0, delay_hours=(0.0, 0.0))


# Fixed in connector.budget (a spent org limit is probed again after ORG_RECHECK).
def test_long_running_client_calls_again_once_the_org_limit_window_has_rolled(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=20, leads=40, random_seed=2)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=write_rules(tmp_path))
    sb.limit.set(maximum=10_000, used=10_000 - 3)
    sb.clock.advance(timedelta(seconds=2))
    first = cx.run_cycle(sb.clock.now(), raise_errors=False)
    assert any(r.error and "BudgetExceeded" in r.error for r in first.values())

    sb.clock.advance(timedelta(hours=24, minutes=1))  # the org's 24-hour window rolls: usage back to 0
    assert sb.limit.remaining() == 10_000
    calls = cx.client.calls
    again = cx.run_cycle(sb.clock.now(), raise_errors=False)
    cx.client.close()
    cx.store.dispose()
    assert cx.client.calls > calls, "the client never asked Salesforce again"
    assert not any(r.error for r in again.values()), {n: r.error for n, r in again.items() if r.error}


# Fixed in jobs b4a506d (expire reads the due leads fresh before acting).
def test_offer_lapsing_in_a_cycle_whose_lead_read_failed_is_still_redistributed(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3)
    base = baseline(sb.org)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=write_rules(tmp_path))
    sb.clock.advance(timedelta(seconds=2))
    cx.run_cycle(sb.clock.now())  # offers made and written back; their echoes not read yet
    offered = {r["Id"] for r in sb.org.records("Lead") if r.get("Routing_Status__c") == "Offered"}
    assert offered

    sb.clock.advance(timedelta(hours=25))  # every offer is past its 24-hour deadline
    sb.faults.plan("503", count=50, endpoint="GET query")  # this cycle cannot read leads
    failed = cx.run_cycle(sb.clock.now(), raise_errors=False)
    assert failed["leads"].error, "the lead read should have failed"
    sb.faults.clear()
    for _ in range(2):
        sb.clock.advance(timedelta(seconds=2))
        cx.run_cycle(sb.clock.now())
    verdict = check(sb.org, cx.store, base)
    cx.client.close()
    cx.store.dispose()
    assert not verdict.stranded, verdict.stranded[:3]
    verdict.assert_sound("after a lapse in a cycle whose lead read failed")
    moved_on = {lid for lid in offered if sb.org.get("Lead", lid).get("Routing_Status__c") == "Escalated"
                or (sb.org.get("Lead", lid).get("Routing_Attempt__c") or 0) >= 2}
    assert moved_on == offered, f"{len(offered - moved_on)} lapsed offers were neither redistributed nor escalated"


# Fixed in jobs b4a506d (reconcile judges a landed write by Offered_At__c).
def test_partner_answer_to_an_offer_whose_write_the_kill_left_unconfirmed_is_handled(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=150, random_seed=5)
    sb.simulator.set_profile("*", REJECT_AT_ONCE)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    base = baseline(sb.org)
    time.sleep(1.1)  # SOQL datetimes are whole seconds
    # The write-back's first request is held 1.5 s by the org, which then applies it:
    # the connector is killed while it waits, so the write lands unconfirmed.
    sb.faults.plan("latency", count=1, endpoint="composite/sobjects", latency_ms=1500)
    victim = leadrouter(cfg, "once")
    deadline = time.monotonic() + 60
    while sb.faults.describe()["planned"]:
        assert victim.poll() is None and time.monotonic() < deadline, "the write-back never started"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    time.sleep(2.0)  # the held request is applied now
    answered = sb.simulator.step()  # the partner reps reject what reached them
    assert answered.rejected > 0, "some offers should have landed before the kill"
    time.sleep(1.1)
    for _ in range(2):
        run = leadrouter(cfg, "once")
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
        time.sleep(1.1)
    from jobs.state import Store

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    verdict = check(sb.org, store, base)
    store.dispose()
    assert not verdict.stranded, verdict.stranded[:3]
    verdict.assert_sound("after the kill and the answers")
    rejected = {lead_id for lead_id, action, _ in answered.events if action == "rejected"}
    moved_on = {lid for lid in rejected if sb.org.get("Lead", lid).get("Routing_Status__c") == "Escalated"
                or (sb.org.get("Lead", lid).get("Routing_Attempt__c") or 0) >= 2}
    assert moved_on == rejected, f"{len(rejected - moved_on)} rejections were never acted on"
