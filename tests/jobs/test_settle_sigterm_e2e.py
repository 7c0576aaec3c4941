"""SIGTERM while `leadrouter run` settles its leadership (the outbox a previous leader left,
then the partner sync, before the scheduler starts): the settle went on to the end — every
pending batch written, then the partner sync, API calls and all — after the signal. Now the
batch on the wire is finished and settled, nothing more starts, and the writes still pending
are the stop flush's ([schedule] stop_flush, 0 here: left for the next leader)."""
from __future__ import annotations

import signal
import time
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, text

from jobs.state import Store
from jobs.state import outbox as ob

from .conftest import SECRET_ENV, leadrouter
from .pg import temp_database
from .test_crash_e2e import write_config, writing

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def job_runs(url: str, after: int = 0) -> list[tuple[int, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(text("SELECT id, job FROM job_runs WHERE id > :a ORDER BY id"),
                                                         {"a": after})]
    finally:
        engine.dispose()


def on_the_wire(sb, cfg, *, latency_ms: int):
    """`leadrouter run` with every write-back batch slowed down to `latency_ms`, returned
    once its first batch has reached the org and is still unanswered."""
    sb.faults.plan("latency", count=1000, endpoint="composite/sobjects", latency_ms=latency_ms)
    sb.counters.reset()
    proc = leadrouter(cfg, "run")
    deadline = time.monotonic() + 60
    while not sb.counters.arrived("PATCH composite/sobjects"):
        assert proc.poll() is None, f"finished before the write-back was under way: {proc.communicate()}"
        assert time.monotonic() < deadline, "the write-back never started"
        time.sleep(0.02)
    return proc


def outbox_counts(url: str) -> dict[str, int]:
    store = Store(url)
    try:
        with store.connect() as conn:
            return dict(ob.status_counts(conn))
    finally:
        store.dispose()


@pytest.mark.parametrize("state", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_sigterm_while_the_new_leader_settles_stops_after_the_batch_in_flight_and_starts_no_partner_sync(
        sandbox_factory, tmp_path, monkeypatch, state):
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path}/state.sqlite" if state == "sqlite" else stack.enter_context(temp_database())
        _settle_stopped(sandbox_factory, tmp_path, monkeypatch, url)


def _settle_stopped(sandbox_factory, tmp_path, monkeypatch, url: str) -> None:
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=6)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")
    cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{tmp_path}/state.sqlite"', f'url = "{url}"')
                   + "[schedule]\nstop_flush = 0\n")
    assert url in cfg.read_text()
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the run's start
    first = writing(sb, cfg, "run", batches=2, latency_ms=400)  # a leader stopped mid write-back
    time.sleep(0.15)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err[-2000:]
    left = outbox_counts(url).get("pending", 0)
    assert left >= 600, f"the next leader's settle needs several batches to write: {left}"
    before = max(i for i, _ in job_runs(url))

    # the next leader's settle: its first batch on the wire (slow), then the signal. On the
    # wire means arrived at the org and not yet answered: the org counts a request once it
    # has answered it, and the connector starts its next batch a few milliseconds after that
    # answer (the time to settle the batch), so a signal sent on the count raced that start.
    # The first leader's 400 ms plan goes too: still first in line, it slowed these batches
    # instead of this 1500 ms one, and the window narrowed with it.
    sb.faults.clear()
    second = on_the_wire(sb, cfg, latency_ms=1500)
    second.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert sb.counters.count("PATCH composite/sobjects") == 0, "the first batch was answered before the signal"
    _, err = second.communicate(timeout=60)
    took = time.monotonic() - signalled
    assert second.returncode == 0, err[-3000:]
    after = [job for _, job in job_runs(url, before)]
    assert after == ["outbox"], f"jobs run by the leader stopped while settling: {after}"
    counts = outbox_counts(url)
    assert counts.get("sent", 0) == 0, f"a batch left half-known: {counts}"  # finished and settled
    assert sb.counters.arrived("PATCH composite/sobjects") == 1, "a batch was started after the signal"
    assert sb.counters.count("PATCH composite/sobjects") == 1, "the batch on the wire was not finished"
    assert counts.get("pending", 0) == left - 200, counts
    assert took < 10, f"SIGTERM took {took:.1f} s: it waited for the settle to end"


def test_a_partner_sync_told_to_stop_ends_after_the_query_in_flight_and_stores_nothing(org, make_loop):
    """The signal during the partner sync itself (the settle's second step, a scheduled
    sync, `once`): it read every kind of record, stored them and wrote the partners'
    feedback to the org before the stop was looked at. Now it ends after the query in
    flight; what it read is dropped whole (one transaction stores a sync: nothing half of
    one), and the next sync reads it again."""
    import threading

    from jobs.state import store as st

    loop = make_loop(org)  # a new state: no partner synced yet
    cx = loop.cx
    org.faults.plan("latency", count=1000, endpoint="GET query", latency_ms=400)
    org.counters.reset()
    cx.stop = threading.Event()
    done: dict = {}
    job = threading.Thread(target=lambda: done.update(result=cx.run_job("sync_partners")), daemon=True)
    job.start()
    deadline = time.monotonic() + 30
    while org.counters.count("GET query") < 1:
        assert time.monotonic() < deadline and job.is_alive(), "the sync's first query never went out"
        time.sleep(0.01)
    cx.stop.set()
    job.join(30)
    org.faults.clear()
    assert not job.is_alive()
    result = done["result"]
    assert result.error is None and result.counts.get("stopped") == 1, result
    assert org.counters.count("GET query") <= 2, "queries were sent after the stop"
    with cx.store.connect() as conn:
        assert st.snapshot_records(conn, "partner") == [] and st.get_watermark(conn, "sync:partner") is None

    assert "sync_partners" in cx._due(org.clock.now()), "`once --due` next minute: the sync is still due"

    cx.stop = threading.Event()  # the next sync reads it all
    assert cx.run_job("sync_partners").counts["partner"] > 0
    assert "sync_partners" not in cx._due(org.clock.now())


def test_a_stop_while_a_write_batch_waits_for_the_state_lock_sends_no_batch(org, make_loop, tmp_path):
    """On SQLite a write batch is marked `sent` under the state's write lock (BEGIN IMMEDIATE),
    which waits up to 30 s for another writer: a standby's heartbeat, a `leadrouter once`, the
    lead stream of this process. The stop was looked at before that wait, after the previous
    batch: a SIGTERM during it still sent the batch. Now the stop is looked at again once the
    lock is ours, before the batch is marked: it stays pending, untouched, for the next leader."""
    import sqlite3
    import threading

    from jobs import outbox

    loop = make_loop(org)
    cx = loop.cx
    org.faults.plan("record_failures", count=1000, share=1.0)  # every write refused for now: left pending
    loop.cycle()
    org.faults.clear()
    waiting = outbox_counts(f"sqlite:///{tmp_path}/state.sqlite")
    assert waiting.get("pending", 0) > 0 and not waiting.get("sent"), waiting
    org.counters.reset()

    other = sqlite3.connect(tmp_path / "state.sqlite", isolation_level=None)  # another writer holds the lock
    other.execute("BEGIN IMMEDIATE")
    cx.stop = threading.Event()
    done: dict = {}
    flush = threading.Thread(target=lambda: done.update(counts=outbox.flush(cx, org.clock.now())), daemon=True)
    flush.start()
    deadline = time.monotonic() + 30
    while not org.counters.snapshot()["api_calls"]:  # the staleness guard's read: next, the write lock
        assert time.monotonic() < deadline and flush.is_alive(), "the flush never asked about its leads"
        time.sleep(0.01)
    time.sleep(0.2)
    cx.stop.set()  # SIGTERM while the batch waits for the lock
    other.rollback()
    other.close()
    flush.join(30)
    assert not flush.is_alive()
    assert org.counters.count("PATCH composite/sobjects") == 0, "a batch was sent after the stop"
    assert outbox_counts(f"sqlite:///{tmp_path}/state.sqlite") == waiting, "the stopped batch was touched"
    assert not done["counts"].get("confirmed"), done
