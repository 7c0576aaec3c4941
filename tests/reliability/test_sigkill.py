"""SIGKILL at 20 random points, each followed by a restart: nothing lost, nothing offered twice.

The connector runs as the real `leadrouter once` in a subprocess against a sandbox
org served from this test process, so the org outlives every kill. Each round new
leads arrive and partner reps answer the offers they hold at once (accept, reject,
or ignore), so kills land in routing, in redistribution, in the write-back and in
the reconciliation of a previous kill's unconfirmed writes. Kill points are seeded:
after the k-th request the org served in that run (plus a few milliseconds), k drawn
from the length of the first complete run. The restart after each kill is the next
round's run (so it may itself be killed); after the last kill the connector runs to
completion, and the org and the state are checked — and checked for double offers
after every kill too.
"""
from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from jobs.state import Store
from jobs.state.schema import job_runs
from sandbox.simulator import Profile
from tests.jobs.conftest import SECRET_ENV
from tests.jobs.test_crash_e2e import leadrouter, write_config

from .arrivals import Arrivals
from .invariants import baseline, check, extend

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.xdist_group("reliability")]

KILLS = 20
MAX_ROUNDS = 40  # a victim may finish before its kill point; such rounds do not count
# Reps answer as soon as the simulator steps, so every round has answers to handle.
INSTANT = Profile("instant", accept=0.45, reject=0.45, delay_hours=(0.0, 0.0))


def wait_for_kill_point(sb, victim, requests_before: int, k: int, jitter: float) -> str | None:
    """SIGKILL `victim` once the org has served its k-th request (plus `jitter`
    seconds); the endpoint last served, or None if it finished first."""
    deadline = time.monotonic() + 60
    while sb.counters.snapshot()["requests"] < requests_before + k:
        if victim.poll() is not None:
            return None
        assert time.monotonic() < deadline, "the connector made no progress for a minute"
        time.sleep(0.002)
    time.sleep(jitter)
    if victim.poll() is not None:
        return None
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    log = sb.counters.requests()
    return log[-1].endpoint if log else "before the first request"


def run_to_completion(cfg) -> None:
    proc = leadrouter(cfg, "once")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, f"the run failed (exit {proc.returncode}): {err[-3000:]}"


def reconciled(store: Store) -> Counter:
    totals: Counter = Counter()
    with store.connect() as conn:
        for row in conn.execute(select(job_runs.c.counts).where(job_runs.c.job == "outbox")):
            counts = row.counts if isinstance(row.counts, dict) else json.loads(row.counts or "{}")
            for key, value in counts.items():
                if key.startswith("reconciled_"):
                    totals[key.removeprefix("reconciled_")] += value
    return totals


def test_sigkill_at_twenty_random_points_then_restart_loses_nothing_and_offers_nothing_twice(
        sandbox_factory, tmp_path, monkeypatch, figures):
    started = time.monotonic()
    sb = sandbox_factory(seed="demo", partners=150, leads=1000, random_seed=21)
    sb.simulator.set_profile("*", INSTANT)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    base = baseline(sb.org)
    arrivals = Arrivals(sb.org, seed=21)
    rng = random.Random(2020)
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the first run's start

    before = sb.counters.snapshot()["requests"]
    run_to_completion(cfg)  # the first run routes the seeded backlog
    first_run_requests = sb.counters.snapshot()["requests"] - before

    # Each kill's restart is the next round's run: it reconciles what the kill left,
    # then meets its own kill point. A run needs over a second to start (imports,
    # login), so arrivals made just before it fall before its read's start.
    kill_points: list[int] = []
    killed_during: Counter[str] = Counter()
    finished_first = rounds = 0
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    while len(kill_points) < KILLS:
        rounds += 1
        assert rounds <= MAX_ROUNDS, f"only {len(kill_points)} kills landed in {MAX_ROUNDS} rounds"
        arrivals.arrive(rng.randint(30, 80))
        sb.simulator.step()
        # later runs have less backlog than the first: aim inside their length
        k = rng.randint(1, max(2, first_run_requests * 2 // 3))
        before = sb.counters.snapshot()["requests"]
        victim = leadrouter(cfg, "once")
        endpoint = wait_for_kill_point(sb, victim, before, k, rng.uniform(0, 0.03))
        if endpoint is None:
            finished_first += 1
            continue
        kill_points.append(k)
        killed_during[endpoint] += 1
        # No double offer may exist at any moment, not only once the dust settles.
        midway = check(sb.org, store, extend(base, sb.org, arrivals.created))
        assert not midway.offered_twice, f"after kill {len(kill_points)}: {midway.offered_twice[:5]}"
        assert not midway.cross_partner, f"after kill {len(kill_points)}: {midway.cross_partner[:5]}"

    # The restart after the last kill, then one more run to read the last answers and
    # write them back, and one to read those echoes.
    for _ in range(3):
        run_to_completion(cfg)
        sb.simulator.step()
        time.sleep(1.05)
    verdict = check(sb.org, store, extend(base, sb.org, arrivals.created))
    figures.record("sigkill: 20 random kills, each followed by a restart", {
        "kills": len(kill_points),
        "victims_that_finished_before_their_kill_point": finished_first,
        "kill_after_request_number": sorted(kill_points),
        "killed_while_org_served": dict(killed_during.most_common()),
        "unconfirmed_writes_reconciled_after_restart": dict(reconciled(store)),
        "leads_seeded": len(base.routable),
        "leads_arrived_between_runs": len(arrivals.created),
        **verdict.figures(),
        "seconds": round(time.monotonic() - started, 1),
    })
    store.dispose()
    verdict.assert_sound("after 20 SIGKILLs and restarts")
    assert verdict.redistributions > 0, "rejections should have been redistributed during the kills"
    if verdict.stranded:
        # Known jobs bug (RELIABILITY.md, "Known gaps"): after a kill, an offer write that
        # landed but was never confirmed is dropped by the reconciliation when the partner
        # has answered it since, and the answer is never acted on. Everything above holds;
        # this stays visible as XFAIL with the count until jobs fixes it.
        pytest.xfail(f"{len(verdict.stranded)} leads stranded by reconcile-after-kill, e.g. "
                     + "; ".join(verdict.stranded[:3]))
