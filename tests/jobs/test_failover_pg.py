"""Two instances against one PostgreSQL: one leader, one standby; kill the leader and
the standby takes over within two poll intervals; no lead is offered twice."""
from __future__ import annotations

import signal
import time

import pytest

from jobs.state import Store
from jobs.state import store as st
from jobs.state.schema import decisions, offers

from .conftest import SECRET_ENV, drained, leadrouter
from .pg import temp_database
from .test_crash_e2e import write_config

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.reliability]
POLL = 1.0  # seconds: [schedule] leads, also the standby's retry interval


def roles(store: Store) -> dict[int, str]:
    with store.connect() as conn:
        return {i["pid"]: i["role"] for i in st.list_instances(conn)}


def wait_for(what, predicate, timeout: float = 30.0, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_leader_and_a_standby_that_takes_over_without_double_offers(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=30, leads=150, random_seed=7)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    with temp_database() as url:
        cfg = write_config(tmp_path, sb, stream="poll")  # `run` dials no Pub/Sub beyond loopback
        text = cfg.read_text().replace(f'url = "sqlite:///{tmp_path}/state.sqlite"', f'url = "{url}"')
        cfg.write_text(text + f"""
[schedule]
leads = {POLL}
offers = 1
outbox = 1
sync_partners = 5
deleted = 5
misfire_grace = 5
""".replace("leads = 1.0", "leads = 1"))
        time.sleep(1.1)
        store = Store(url)
        a = leadrouter(cfg, "run")
        drained(a)
        b = None
        try:
            wait_for("the first instance to lead", lambda: roles(store).get(a.pid) == "leader")
            b = leadrouter(cfg, "run")
            drained(b)
            wait_for("the second instance to stand by", lambda: roles(store).get(b.pid) == "standby")
            time.sleep(3 * POLL)
            assert roles(store)[a.pid] == "leader" and roles(store)[b.pid] == "standby", "exactly one active"
            wait_for("the seeded leads to be routed",
                     lambda: all(r.get("Routing_Status__c") for r in sb.org.records("Lead")), timeout=60)
            with store.connect() as conn:
                runs_by_b = conn.execute(st.schema.job_runs.select().where(
                    st.schema.job_runs.c.instance.like(f"%:{b.pid}:%"))).fetchall()
            assert runs_by_b == [], "the standby ran no job while the leader lived"

            a.send_signal(signal.SIGKILL)
            a.wait()
            killed = time.monotonic()
            wait_for("the standby to take over", lambda: roles(store).get(b.pid) == "leader", timeout=10, step=0.02)
            takeover = time.monotonic() - killed
            print(f"\ntakeover after leader SIGKILL: {takeover:.2f} s (poll interval {POLL} s)")
            assert takeover <= 2 * POLL + 1.0  # slack for a loaded machine

            some = next(iter(sb.org.records("Lead")))
            fresh = [sb.org.create("Lead", {"LastName": f"After failover {i}", "Company": f"Failover {i} GmbH",
                                            "Country": some["Country"], "State": some["State"],
                                            "City": some["City"], "PostalCode": some["PostalCode"]})
                     for i in range(5)]
            wait_for("the new leader to route new leads",
                     lambda: all(sb.org.get("Lead", i).get("Routing_Status__c") for i in fresh), timeout=30)
        finally:
            for p in (a, b):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in (a, b):
                if p is not None:
                    p.wait(timeout=30)
        assert b.returncode == 0, "SIGTERM stops the leader gracefully"
        assert roles(store)[b.pid] == "stopped"
        with store.connect() as conn:
            per_lead: dict[str, int] = {}
            for row in conn.execute(decisions.select()):
                per_lead[row.lead_id] = per_lead.get(row.lead_id, 0) + 1
            offers_per_lead: dict[str, int] = {}
            for row in conn.execute(offers.select()):
                offers_per_lead[row.lead_id] = offers_per_lead.get(row.lead_id, 0) + 1
        store.dispose()
        assert set(per_lead.values()) == {1}, "a lead was decided twice across the failover"
        assert set(offers_per_lead.values()) <= {1}, "a lead was offered twice"
        assert set(fresh) <= set(per_lead)


def test_a_leader_whose_lock_connection_is_killed_starts_no_job_after_it(sandbox_factory, tmp_path, monkeypatch):
    """The lock is asked before each job, not once per `[schedule] leads` (30 s here):
    the outbox job, due every second, is the next one, and it does not start."""
    from sqlalchemy import create_engine, text

    from jobs.leader import lock_key

    sb = sandbox_factory(seed="demo", partners=10, leads=20, random_seed=11)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    with temp_database() as url:
        cfg = write_config(tmp_path, sb, stream="poll")  # `run` dials no Pub/Sub beyond loopback
        text_ = cfg.read_text().replace(f'url = "sqlite:///{tmp_path}/state.sqlite"', f'url = "{url}"')
        cfg.write_text(text_ + "\n[schedule]\nleads = 30\noffers = 1\noutbox = 1\nsync_partners = 60\n"
                               "deleted = 60\nmisfire_grace = 5\n")
        store = Store(url)
        a = leadrouter(cfg, "run")
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            wait_for("the instance to lead", lambda: roles(store).get(a.pid) == "leader")

            def runs() -> int:
                with store.connect() as conn:
                    return len(conn.execute(st.schema.job_runs.select()).fetchall())

            wait_for("jobs to run every second", lambda: runs() >= 3, timeout=30)
            key = lock_key("default")
            with admin.connect() as c:  # an admin, a failover or a network cut ends the lock's session
                pid = c.execute(text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": key}).scalar()
                assert pid and c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            time.sleep(1.5)  # a job in flight at the kill may still finish and record itself
            before = runs()
            time.sleep(4)  # four outbox intervals, far inside the 30 s poll
            assert runs() == before, "a job started after the leader lost its lock"
        finally:
            admin.dispose()
            if a.poll() is None:
                a.send_signal(signal.SIGTERM)
            a.wait(timeout=30)
        said = a.stdout.read() + a.stderr.read()
        store.dispose()
        assert "leader_lock_lost" in said and "Traceback" not in said
