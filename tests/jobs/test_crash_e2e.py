"""Crash safety: SIGKILL in the middle of the write-back, restart, nothing lost or doubled.

The connector runs as `leadrouter once` in a subprocess against a sandbox org served
from this test process, so the org outlives the kill. Writes are slowed down so the
kill lands while a composite request is in flight.
"""
from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from jobs.state import Store
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state.schema import decisions, job_runs

from .conftest import SECRET_ENV, leadrouter
from .rules_for_tests import write_rules

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def write_config(tmp_path: Path, sb, *, stream: str | None = None) -> Path:
    """A config for `leadrouter once`/`run` on the sandbox org (a 10-second request timeout:
    the read-back after a kill waits that long for a batch still on the wire).

    `stream="poll"` writes `[stream] mode = "poll"`: without it `run` takes the default,
    auto, and dials Salesforce's own Pub/Sub API (api.pubsub.salesforce.com), network
    beyond loopback. The default writes no [stream] table because other modules append
    their own to this file (a second [stream] is invalid TOML)."""
    c = sb.connection
    rules = write_rules(tmp_path)
    stream_table = f'[stream]\nmode = "{stream}"\n' if stream else ""
    cfg = tmp_path / "leadrouter.toml"
    cfg.write_text(f"""
[salesforce]
login_url = "{c['login_url']}"
ca_bundle = "{c['ca_file']}"
api_version = "62.0"
timeout = 10
[salesforce.auth]
method = "client_credentials"
client_id = "{c['client_id']}"
client_secret_env = "{SECRET_ENV}"
[salesforce.retry]
max_attempts = 3
initial_wait = 0.01
max_wait = 0.05
[state]
url = "sqlite:///{tmp_path}/state.sqlite"
[routing]
rules = "{rules}"
{stream_table}[log]
format = "json"
level = "warning"
""")
    return cfg


def writing(sb, cfg, command: str, *, batches: int, latency_ms: int):
    """`leadrouter <command>` with every write-back batch slowed down to `latency_ms`,
    returned once `batches` batches have gone on the wire (the process still running)."""
    sb.faults.plan("latency", count=1000, endpoint="composite/sobjects", latency_ms=latency_ms)
    sb.counters.reset()
    proc = leadrouter(cfg, command)
    deadline = time.monotonic() + 60
    while sb.counters.count("PATCH composite/sobjects") < batches:
        assert proc.poll() is None, f"finished before the write-back was under way: {proc.communicate()}"
        assert time.monotonic() < deadline, "the write-back never started"
        time.sleep(0.02)
    return proc


def outbox_counts(tmp_path: Path) -> dict[str, int]:
    """The outbox's entries by status, read from the state file and closed again."""
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    try:
        with store.connect() as conn:
            return dict(ob.status_counts(conn))
    finally:
        store.dispose()


def test_sigkill_during_write_back_loses_nothing_and_offers_nothing_twice(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=5)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    cfg = write_config(tmp_path, sb, stream="poll")
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the run's start
    victim = writing(sb, cfg, "once", batches=2, latency_ms=400)
    time.sleep(0.15)  # the third batch is now on the wire
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    written_before_restart = sb.counters.count("PATCH composite/sobjects")
    assert written_before_restart < 6, "killed mid write-back, not after it"

    open_before = outbox_counts(tmp_path)
    assert open_before.get("pending", 0) > 0, f"the kill left writes to do: {open_before}"
    assert open_before.get("sent", 0) > 0, f"the kill left a batch whose fate is unknown: {open_before}"

    sb.faults.clear()
    again = leadrouter(cfg, "once")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        counts = ob.status_counts(conn)
        assert counts.get("pending", 0) == 0 and counts.get("sent", 0) == 0, f"outbox not drained: {counts}"
        per_lead: dict[str, int] = {}
        for row in conn.execute(decisions.select()):
            per_lead[row.lead_id] = per_lead.get(row.lead_id, 0) + 1
        live = of.live_offers(conn, list(per_lead))
        runs = [r.counts for r in conn.execute(job_runs.select().where(job_runs.c.job == "outbox"))]
    # the batch on the wire was checked against Salesforce, not blindly re-sent or forgotten
    assert sum(v for c in runs for k, v in c.items() if k.startswith("reconciled_")) == open_before["sent"]
    org_leads = list(sb.org.records("Lead"))
    # no lead lost: every lead in the org was decided once, and Salesforce shows that decision
    assert {r["Id"] for r in org_leads} == set(per_lead)
    assert set(per_lead.values()) == {1}, "a lead was decided (and offered) twice"
    for r in org_leads:
        assert r["Routing_Status__c"] in ("Offered", "Escalated", "Unroutable"), r["Id"]
        if r["Id"] in live:
            assert r["OwnerId"] == live[r["Id"]]["owner_id"]
    store.dispose()


def test_sigterm_finishes_the_batch_in_flight_and_leaves_the_rest_pending(sandbox_factory, tmp_path, monkeypatch):
    """With `[schedule] stop_flush = 0`; the flush before stopping is tests/jobs/test_stop_flush_e2e.py's."""
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=6)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    cfg.write_text(cfg.read_text() + "[schedule]\nstop_flush = 0\n")
    time.sleep(1.1)
    proc = writing(sb, cfg, "run", batches=2, latency_ms=400)
    time.sleep(0.15)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    counts = outbox_counts(tmp_path)
    # the batch on the wire was finished and confirmed; nothing is left in an unknown state
    assert counts.get("sent", 0) == 0
    assert counts.get("confirmed", 0) == sb.counters.count("PATCH composite/sobjects") * 200
    assert counts.get("pending", 0) > 0, "the remaining writes wait for the next start"


def test_a_batch_still_on_the_wire_when_its_sender_died_is_read_back_once_it_lands_not_sent_twice(
        sandbox_factory, tmp_path, monkeypatch):
    """Salesforce finishes a request it has received even when the client is gone. Read
    back too early, the killed run's last batch looks untouched and goes out again; in a
    busy org the lead moves on meanwhile (rejected, offered to the next partner) and the
    late first request hands it back to the partner who said no."""
    sb = sandbox_factory(seed="demo", partners=40, leads=400, random_seed=9)
    seeded = {h["Id"] for h in sb.org.records("LeadHistory")}
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    time.sleep(1.1)
    victim = writing(sb, cfg, "once", batches=1, latency_ms=5000)  # each lands 5 s after it went out
    time.sleep(0.5)  # the second batch is now on the wire
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    sb.faults.clear()  # later requests are served at once; the one on the wire keeps its delay
    on_the_wire = outbox_counts(tmp_path).get("sent", 0)
    assert on_the_wire > 0, "the kill left a batch whose fate is unknown"

    started = time.monotonic()
    again = leadrouter(cfg, "once")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    assert time.monotonic() - started < 10 + 30, "waited the window once, not more"

    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        runs = [r.counts for r in conn.execute(job_runs.select().where(job_runs.c.job == "outbox"))]
        counts = ob.status_counts(conn)
    store.dispose()
    reconciled = {k: sum(c.get(k, 0) for c in runs) for k in ("reconciled_confirmed", "reconciled_resend")}
    assert reconciled == {"reconciled_confirmed": on_the_wire, "reconciled_resend": 0}, reconciled
    assert counts.get("sent", 0) == 0 and counts.get("pending", 0) == 0, counts
    # every lead was written once: the org saw its owner set once, by the first request
    owners = Counter(h["LeadId"] for h in sb.org.records("LeadHistory")
                     if h["Id"] not in seeded and h["Field"] in ("Owner", "OwnerId"))
    assert owners and max(owners.values()) == 1, owners.most_common(3)
