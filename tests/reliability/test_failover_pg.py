"""Active/standby on PostgreSQL: the leader is SIGKILLed mid-work, three times over.

Two `leadrouter run` processes share one PostgreSQL state database; the advisory lock
makes one the leader. Leads keep arriving and partner reps keep answering while the
leader works; at a seeded moment it is killed, the standby takes over, and the killed
one is restarted as the new standby. After three takeovers the pair settles and the
org and the state are checked: no lead lost, none offered twice, and no job of a new
leader started before the old leader was dead.
"""
from __future__ import annotations

import random
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from jobs.state import Store
from jobs.state import store as st
from jobs.state.schema import job_runs
from sandbox.simulator import Profile
from tests.jobs.conftest import SECRET_ENV
from tests.jobs.pg import temp_database
from tests.jobs.test_crash_e2e import leadrouter, write_config

from .arrivals import Arrivals
from .invariants import baseline, check, extend

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

POLL = 1  # seconds: [schedule] leads, also the standby's retry interval
TAKEOVERS = 3
INSTANT = Profile("instant", accept=0.45, reject=0.45, delay_hours=(0.0, 0.0))


def pg_config(tmp_path, sb, url):
    cfg = write_config(tmp_path, sb, stream="poll")  # `run` dials no Pub/Sub beyond loopback
    text = cfg.read_text().replace(f'url = "sqlite:///{tmp_path}/state.sqlite"', f'url = "{url}"')
    assert url in text, "the crash test's config helper changed; point [state] at PostgreSQL another way"
    cfg.write_text(text + f"\n[schedule]\nleads = {POLL}\noffers = 1\noutbox = 1\nsync_partners = 5\n"
                          "deleted = 5\nmisfire_grace = 5\n")
    return cfg


def roles(store: Store) -> dict[int, str]:
    with store.connect() as conn:
        return {i["pid"]: i["role"] for i in st.list_instances(conn)}


def wait_for(what: str, predicate, timeout: float = 30.0, step: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Traffic:
    """Leads arriving and partner reps answering, from a background thread."""

    def __init__(self, sb, arrivals: Arrivals, every: float = 0.3, batch: int = 8):
        self.sb, self.arrivals, self.every, self.batch = sb, arrivals, every, batch
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="reliability-traffic", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.arrivals.arrive(self.batch)
            self.sb.simulator.step()

    def __enter__(self) -> "Traffic":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def runs_by_pid(store: Store) -> list[tuple[int, datetime]]:
    with store.connect() as conn:
        rows = conn.execute(select(job_runs.c.instance, job_runs.c.started)).all()
    return [(int(r.instance.split(":")[-2]), r.started) for r in rows if r.instance and r.instance.count(":") >= 2]


def test_leader_killed_mid_work_three_times_standby_takes_over_without_double_offers(
        sandbox_factory, tmp_path, monkeypatch, figures):
    started = time.monotonic()
    rng = random.Random(303)
    sb = sandbox_factory(seed="demo", partners=120, leads=600, random_seed=31)
    sb.simulator.set_profile("*", INSTANT)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    base = baseline(sb.org)
    arrivals = Arrivals(sb.org, seed=31)
    procs = []
    with temp_database() as url:
        cfg = pg_config(tmp_path, sb, url)
        store = Store(url)
        try:
            leader = leadrouter(cfg, "run")
            procs.append(leader)
            wait_for("the first instance to lead", lambda: roles(store).get(leader.pid) == "leader")
            standby = leadrouter(cfg, "run")
            procs.append(standby)
            wait_for("the second instance to stand by", lambda: roles(store).get(standby.pid) == "standby")

            takeovers: list[float] = []
            first_job_after: list[float] = []
            handovers: list[tuple[int, datetime]] = []  # (new leader pid, when the old one died)
            with Traffic(sb, arrivals):
                for _ in range(TAKEOVERS):
                    # Kill it mid-work: just after it has started writing back again.
                    writes = sb.counters.count("PATCH composite/sobjects")
                    wait_for("the leader to write back", lambda: sb.counters.count("PATCH composite/sobjects") > writes)
                    time.sleep(rng.uniform(0.0, 0.3))
                    leader.send_signal(signal.SIGKILL)
                    leader.wait()
                    killed = time.monotonic()
                    handovers.append((standby.pid, datetime.now(timezone.utc)))
                    wait_for("the standby to take over", lambda: roles(store).get(standby.pid) == "leader", timeout=15)
                    takeovers.append(time.monotonic() - killed)
                    wait_for("the new leader's first job",
                             lambda: any(pid == standby.pid for pid, _ in runs_by_pid(store)), timeout=15)
                    first_job_after.append(time.monotonic() - killed)
                    leader, standby = standby, leadrouter(cfg, "run")
                    procs.append(standby)
                    wait_for("the restarted instance to stand by",
                             lambda: roles(store).get(standby.pid) == "standby", timeout=30)

            # Settle: answers keep coming until every lead is final or waits on a live
            # offer, and every decided write is confirmed.
            created = list(arrivals.created)
            verdict = None
            end = time.monotonic() + 90
            while time.monotonic() < end:
                sb.simulator.step()
                time.sleep(2.5 * POLL)
                verdict = check(sb.org, store, extend(base, sb.org, created))
                if verdict.sound:
                    break
        finally:
            # Both stopped together, as a rollout does: the leader writes what it decided before
            # it exits (jobs/stop_flush.py), so the check below compares a settled state with
            # the org. Its flush used to be skipped: the leads the last run decided were left
            # accepted or escalated in the state and Offered in the org (1 run in 7 failed).
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except Exception:
                    p.kill()
                    p.wait()
        # A new leader's jobs all start after the old leader died.
        runs = runs_by_pid(store)
        # Job runs are dated by Salesforce's clock (its Date header has whole seconds, so a
        # client knows it to within one second); the kill by this host's. One second apart.
        overlap = sum(1 for new_pid, died in handovers for pid, at in runs
                      if pid == new_pid and at < died - timedelta(seconds=1))
        verdict = check(sb.org, store, extend(base, sb.org, created))
        store.dispose()

    figures.record("failover: leader SIGKILLed mid-work, 3 takeovers on PostgreSQL", {
        "takeovers": len(takeovers),
        "takeover_seconds": [round(t, 2) for t in takeovers],
        "first_job_of_new_leader_seconds": [round(t, 2) for t in first_job_after],
        "poll_interval_seconds": POLL,
        "jobs_of_a_new_leader_before_the_old_one_died": overlap,
        "leads_seeded": len(base.routable),
        "leads_arrived_during_failovers": len(created),
        **verdict.figures(),
        "seconds": round(time.monotonic() - started, 1),
    })
    assert max(takeovers) <= 2 * POLL + 1.0, f"takeover took {max(takeovers):.2f} s (poll {POLL} s)"
    assert overlap == 0, "a new leader ran a job while the old one was still alive"
    verdict.assert_sound("after three leader kills")
    # RELIABILITY.md, gap 3 (reconcile after a kill; fixed in jobs b4a506d)
    assert not verdict.stranded, f"{len(verdict.stranded)} leads stranded, e.g. {verdict.stranded[:3]}"
