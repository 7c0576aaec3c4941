"""The subscriber SIGKILLed mid-batch, ten times: no lead missed, none offered twice.

`leadrouter run` (leader, scheduler, Change Data Capture stream) runs in a subprocess
against a sandbox org served from this test process. Each round a burst of web-to-lead
leads arrives — one change event each — and the process is killed a seeded moment
later, while it reads, decides or writes that batch. The replay id is stored only after
a batch's effects are committed, so the next process replays the batch it died in;
handling is idempotent by lead id, so a replayed lead is not offered again.
"""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from jobs.state import Store
from jobs.state.schema import offers
from tests.jobs.conftest import SECRET_ENV, leadrouter
from tests.jobs.test_crash_e2e import write_config

FAKETIME = pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                              reason="`leadrouter run` / the benchmark's scheduler wait with timeouts, which "
                                     "hang under libfaketime (RELIABILITY.md, 'The faketime hang')")
pytestmark = [FAKETIME, pytest.mark.reliability, pytest.mark.e2e]

KILLS = 10
BURST = 12


def _wait(condition, timeout, what):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def _web_lead(sb, template, n):
    return sb.org.create("Lead", {**template, "Company": f"Burst {n}"}, as_user=sb.org.admin_user_id, auto_assign=True)


def test_sigkill_mid_batch_ten_times_misses_no_lead_and_offers_none_twice(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    cfg.write_text(cfg.read_text() + f'[stream]\nmode = "cdc"\npubsub_url = "{sb.connection["pubsub_url"]}"\n')
    routed_seed = next(r for r in sb.org.records("Lead") if r.get("Country"))
    template = {k: routed_seed[k] for k in ("LastName", "Country", "State", "City", "Industry", "Products__c")
                if routed_seed.get(k) is not None}
    rng = random.Random(15)
    created: list[str] = []
    kills = 0
    for round_ in range(KILLS):
        opened = sb.pubsub.service.subscriptions
        victim = leadrouter(cfg, "run")
        _wait(lambda: sb.pubsub.service.subscriptions >= opened + 2 or victim.poll() is not None, 60,
              "the connector subscribing")
        assert victim.poll() is None, victim.communicate()[1][-2000:]
        handled_before = sum(1 for i in created if sb.org.get("Lead", i).get("Routing_Status__c"))
        created += [_web_lead(sb, template, f"{round_}-{i}") for i in range(BURST)]
        # somewhere in the batch: reading it, deciding it, or writing it back
        deadline = time.monotonic() + rng.uniform(0.02, 0.6)
        while time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.005)
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
            kills += 1
        victim.communicate(timeout=10)
        assert handled_before <= len(created)
    assert kills == KILLS

    survivor = leadrouter(cfg, "run")
    try:
        _wait(lambda: all(sb.org.get("Lead", i).get("Routing_Status__c") for i in created), 90,
              "every lead of every burst routed")
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.communicate(timeout=30)

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        rows = conn.execute(select(offers.c.lead_id, offers.c.kind).where(offers.c.lead_id.in_(created))).all()
        from jobs import stream

        lead_topic = next(r for r in stream.status(conn) if r["topic"] == stream.LEADS)
    store.dispose()
    per_lead = Counter(lead for lead, kind in rows if kind == "offer")
    assert [lead for lead, n in per_lead.items() if n > 1] == []  # none offered twice
    assert lead_topic["replay_id"] and lead_topic["events"] > 0  # the stream did the work, and stored where it was
