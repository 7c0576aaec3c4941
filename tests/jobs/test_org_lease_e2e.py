"""Two connectors on one org, each with its own SQLite state (a second VM, a copied
deployment): the org lease (connector/lease.py, LeadRouter_Lease__c) lets one route at a
time. Every lead is routed once and every rep alerted once; a killed holder is replaced
once its heartbeat is a TTL old by the org's clock (the sandbox clock is moved, nothing
sleeps for it); a clean stop hands over at once; an org without the object works as
before and says so."""
from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from connector.lease import OBJECT, ttl_for
from sandbox.seed import add_leads

from .conftest import SECRET_ENV, leadrouter, notification_type_id, wait_routed
from .test_crash_e2e import write_config
from .test_service_seams_second_run import Lines

pytestmark = [pytest.mark.e2e]
# `leadrouter run`'s timed waits hang under libfaketime (RELIABILITY.md, 'The faketime hang'):
# the tests that run it are skipped there, as the outage and stream tests are
RUNS_SERVICE = pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                                  reason="`leadrouter run`'s timed waits hang under libfaketime")


def two_configs(tmp_path: Path, sb, *, every_second: bool = False, **kw) -> tuple[Path, Path]:
    """Two connectors' configs on one org, each with its own state; `every_second`: `run`'s
    lead stream and offer jobs every second."""
    out = []
    for name in ("vm_a", "vm_b"):
        d = tmp_path / name
        d.mkdir()
        cfg = write_config(d, sb, **kw)
        # offer alerts as custom notifications: a rep alerted twice shows in the sandbox's record
        cfg.write_text(cfg.read_text() + '[notifications]\nmode = "custom"\noffer_alert = "custom"\n'
                       f'custom_notification_type_id = "{notification_type_id(sb)}"\n'
                       + ("[schedule]\nleads = 1\noffers = 1\n" if every_second else ""))
        out.append(cfg)
    return out[0], out[1]


def offered(sb) -> dict[str, str]:
    """Lead id -> routing status, for the leads the connectors routed."""
    return {r["Id"]: r["Routing_Status__c"] for r in sb.org.records("Lead")
            if r.get("Routing_Status__c") not in (None, "", "Pending")}


def alerts_per_lead(sb) -> Counter:
    """(lead, recipients) -> alerts sent: above one is a rep alerted twice."""
    return Counter((n.inputs.get("targetId"), str(n.inputs.get("recipientIds")))
                   for n in sb.notifications.all("customNotificationAction"))


def owner_changes_per_lead(sb) -> Counter:
    """How often the integration user set a lead's owner: twice is a lead routed twice."""
    me = sb.org.integration_user_id
    return Counter(h["LeadId"] for h in sb.org.records("LeadHistory")
                   if h["Field"] == "Owner" and h["CreatedById"] == me)


def terms(sb) -> list[dict]:
    return sorted((r for r in sb.org.records(OBJECT)), key=lambda r: r["Term__c"])


def test_two_once_runs_with_their_own_states_started_together_route_each_lead_once(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg_a, cfg_b = two_configs(tmp_path, sb)
    # the write-back slowed down: the first to take the lease is still routing when the other asks
    sb.faults.plan("latency", count=1000, endpoint="composite/sobjects", latency_ms=300)
    a, b = leadrouter(cfg_a, "once"), leadrouter(cfg_b, "once")
    (_, err_a), (_, err_b) = a.communicate(timeout=180), b.communicate(timeout=180)
    codes = sorted([a.returncode, b.returncode])
    assert codes == [0, 3], (codes, err_a[-3000:], err_b[-3000:])
    loser_err = err_a if a.returncode == 3 else err_b
    assert "another connector holds this org's lease" in loser_err and "pid " in loser_err, loser_err[-2000:]

    routed = offered(sb)
    assert routed, "nothing was routed"
    assert max(owner_changes_per_lead(sb).values()) == 1
    alerts = alerts_per_lead(sb)
    assert alerts and max(alerts.values()) == 1, alerts
    # the winner released its term at the end: the next run takes the lease at once
    assert [t["Released__c"] for t in terms(sb)] == [True]


@RUNS_SERVICE
def test_two_runs_one_leads_the_other_waits_then_a_kill_hands_over_after_the_ttl_by_the_org_clock(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=20, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    cfg_a, cfg_b = two_configs(tmp_path, sb, every_second=True, stream="poll")
    first, second = leadrouter(cfg_a, "run"), leadrouter(cfg_b, "run")
    la, lb = Lines(first), Lines(second)
    try:
        # whichever took the lease leads; the other waits as its standby, naming it
        deadline = time.monotonic() + 90
        while not any(x.get("event") == "leader" for x in la.lines + lb.lines):
            assert time.monotonic() < deadline, "".join(la.raw + lb.raw)[-4000:]
            time.sleep(0.1)
        leader_lines, standby_lines = (la, lb) if any(x.get("event") == "leader" for x in la.lines) else (lb, la)
        leader = leader_lines.proc
        waiting = standby_lines.wait_for("standby")
        assert f"pid {leader.pid} on" in waiting["leader"], waiting
        assert "another connector routes this org" in waiting["note"], waiting
        seeded = [r["Id"] for r in sb.org.records("Lead")]
        wait_routed(sb, [i for i in seeded if i in offered(sb)] or seeded[:1], time.monotonic() + 60,
                    "the leader routed nothing")
        new = add_leads(sb.org, 6, random_seed=21)
        wait_routed(sb, new, time.monotonic() + 60, "the leader did not route the new leads")
        assert not any(x.get("event") == "leader" for x in standby_lines.lines), "both led"

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        killed_at = time.monotonic()
        time.sleep(3)  # a few standby rounds: the dead holder's heartbeat is still fresh, nobody takes over
        assert not any(x.get("event") == "leader" for x in standby_lines.lines)
        sb.clock.advance(timedelta(seconds=ttl_for(1) + 1))
        standby_lines.wait_for("leader", timeout=30)
        takeover = time.monotonic() - killed_at
        print(f"takeover after SIGKILL: {takeover:.1f} s wall, of which 3 s waited on purpose "
              f"(org clock moved {ttl_for(1) + 1:.0f} s)")
        later = add_leads(sb.org, 4, random_seed=22)
        wait_routed(sb, later, time.monotonic() + 60, "the new holder did not route")
        assert max(owner_changes_per_lead(sb).values()) == 1
        alerts = alerts_per_lead(sb)
        assert max(alerts.values()) == 1, alerts
        assert [t["Term__c"] for t in terms(sb)] == [2], "the new holder deletes the older terms"
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@RUNS_SERVICE
def test_a_clean_stop_hands_the_org_over_at_once(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=10, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    cfg_a, cfg_b = two_configs(tmp_path, sb, every_second=True, stream="poll")
    first = leadrouter(cfg_a, "run")
    la = Lines(first)
    try:
        la.wait_for("leader")
        second = leadrouter(cfg_b, "run")
        lb = Lines(second)
        lb.wait_for("standby")
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, "".join(la.raw)[-3000:]
        stopped_at = time.monotonic()
        lb.wait_for("leader", timeout=15)  # no clock moved: the released term is taken at the next try
        print(f"takeover after a clean stop: {time.monotonic() - stopped_at:.1f} s")
        assert la.wait_for("org_lease_released")
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_an_org_without_the_lease_object_routes_as_before_and_says_so(sandbox_factory, tmp_path, monkeypatch,
                                                                     capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=10, random_seed=3)
    sb.org.without_object(OBJECT)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    proc = leadrouter(cfg, "once")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert err.count('"org_lease_unavailable"') == 1, err[-3000:]
    assert OBJECT in err and "deploy salesforce/" in err, err[-3000:]
    assert offered(sb), "nothing routed"

    from jobs.cli import main

    main(["validate", "--config", str(cfg)])
    said = capsys.readouterr().out
    assert f"the org has no {OBJECT} object" in said and "deploy salesforce/" in said, said


def test_the_lease_lost_while_writing_stops_the_writes(sandbox_factory, tmp_path, monkeypatch):
    """The holder's heartbeat lapses mid-run (the org clock jumps past the TTL) and another
    connector takes the next term: the holder's next batch finds it out and writes nothing."""
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=5)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    sb.faults.plan("latency", count=1000, endpoint="composite/sobjects", latency_ms=400)
    sb.counters.reset()
    proc = leadrouter(cfg, "once")
    deadline = time.monotonic() + 90
    while sb.counters.count("PATCH composite/sobjects") < 1:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    held = terms(sb)[-1]
    org_id = held["Key__c"].split(":")[0]
    sb.clock.advance(timedelta(seconds=ttl_for(60) + 5))
    sb.org.create(OBJECT, {"Name": f"{org_id}:{int(held['Term__c']) + 1}", "Key__c": f"{org_id}:{int(held['Term__c']) + 1}",
                           "Term__c": held["Term__c"] + 1, "Instance__c": "vm-b:4242:abcdef", "Host__c": "vm-b",
                           "Pid__c": 4242})
    writes_at_takeover = sb.counters.count("PATCH composite/sobjects")
    _, err = proc.communicate(timeout=120)
    assert '"org_lease_lost"' in err and "vm-b" in err, err[-3000:]
    print(f"write batches: {writes_at_takeover} when the term was taken, "
          f"{sb.counters.count('PATCH composite/sobjects')} at the end; exit {proc.returncode}")
    # the batch on the wire when the term was taken may land; nothing after it
    assert sb.counters.count("PATCH composite/sobjects") <= writes_at_takeover + 1, err[-3000:]
    # deposed is "not the leader", as a `once` that never got the lease: exit 3, naming who took it
    assert proc.returncode == 3, err[-3000:]
    assert "another connector took this org's lease during the run (vm-b:4242:abcdef" in err, err[-3000:]
