"""Ctrl-C twice: `leadrouter run` stops at once on a second SIGINT (exit 130) with one
log line saying the batch in flight was interrupted and why a rerun is safe, and a
rerun indeed settles that batch by reading it back from Salesforce."""
from __future__ import annotations

import json
import signal
import time

import pytest

from jobs.state import Store
from jobs.state import outbox as ob
from jobs.state.schema import decisions, job_runs

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import outbox_counts, write_config, writing

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def test_a_second_sigint_stops_at_once_with_exit_130_and_the_rerun_settles_the_interrupted_batch(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=20, leads=500, random_seed=8)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb, stream="poll")  # no Pub/Sub: loopback only
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the run's start
    # a slow write: a graceful stop would wait seconds for the batch on the wire
    proc = writing(sb, cfg, "run", batches=1, latency_ms=4000)
    time.sleep(0.2)  # the first batch is on the wire
    proc.send_signal(signal.SIGINT)  # graceful: would finish that batch, seconds from now
    time.sleep(0.3)
    assert proc.poll() is None, "the first SIGINT waits for the batch in flight"
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - second
    assert proc.returncode == 130, err[-3000:]
    assert took < 2.5, f"the second SIGINT took {took:.1f} s: it waited for the batch"

    (tmp_path / "run.err").write_text(err)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    said = [line for line in lines if line.get("event") == "stopped_now"]
    assert len(said) == 1, err[-3000:]
    assert said[0]["interrupted"].startswith("the current batch of "), said[0]
    assert "safe to rerun" in said[0]["note"] and "reads those leads back" in said[0]["note"], said[0]
    assert "Traceback" not in err

    interrupted = outbox_counts(tmp_path).get("sent", 0)
    assert interrupted > 0, "the batch on the wire is left `sent`: its fate is unknown until read back"

    sb.faults.clear()
    again = leadrouter(cfg, "once")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.connect() as conn:
        counts = ob.status_counts(conn)
        per_lead: dict[str, int] = {}
        for row in conn.execute(decisions.select()):
            per_lead[row.lead_id] = per_lead.get(row.lead_id, 0) + 1
        runs = [r.counts for r in conn.execute(job_runs.select().where(job_runs.c.job == "outbox"))]
    store.dispose()
    assert counts.get("sent", 0) == 0 and counts.get("pending", 0) == 0, counts
    assert sum(v for c in runs for k, v in c.items() if k.startswith("reconciled_")) == interrupted
    assert set(per_lead.values()) == {1}, "a lead was decided (and offered) twice"


def own_logger(svc):
    """A logger like jobs.service's own, for a test to break one method of. Patched on the
    module's shared logger instead, pytest 9.1's monkeypatch puts back a method bound to the
    logging configuration of that moment, and every later test on the worker logs the service's
    info lines there (tests/jobs/test_service_seams_standby_login.py then misses them)."""
    return svc.get_logger(component="service")


def test_the_forced_stop_exits_even_when_its_log_line_cannot_be_written(tmp_path, monkeypatch):
    """It runs in a signal handler: a write the main thread was in the middle of can make
    the log line raise (a reentrant call). The exit must not depend on it."""
    from jobs import service as svc
    from jobs.leader import lock_for

    url = f"sqlite:///{tmp_path}/state.sqlite"
    service = svc.Service(store=Store(url), lock=lock_for(url), poll_seconds=30, misfire_grace=30,
                          make_jobs=lambda stop: [])
    exits = []

    class Exited(BaseException):
        pass

    def fake_exit(code):
        exits.append(code)
        raise Exited

    def broken_log(*args, **kwargs):
        raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

    monkeypatch.setattr(svc.os, "_exit", fake_exit)
    monkeypatch.setattr(svc, "log", own_logger(svc))
    monkeypatch.setattr(svc.log, "warning", broken_log)
    with pytest.raises(Exited):
        service.stop_now()
    assert exits == [130]


def test_the_graceful_stop_is_set_even_when_its_log_line_cannot_be_written(tmp_path, monkeypatch):
    import signal as sig

    from jobs import service as svc
    from jobs.leader import lock_for

    url = f"sqlite:///{tmp_path}/state.sqlite"
    service = svc.Service(store=Store(url), lock=lock_for(url), poll_seconds=30, misfire_grace=30,
                          make_jobs=lambda stop: [])
    before = sig.getsignal(sig.SIGTERM), sig.getsignal(sig.SIGINT)
    try:
        service.install_signal_handlers()
        monkeypatch.setattr(svc, "log", own_logger(svc))
        monkeypatch.setattr(svc.log, "info", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("reentrant call")))
        sig.getsignal(sig.SIGTERM)(sig.SIGTERM, None)  # no exception into the main thread
        assert service.stop.is_set()
    finally:
        sig.signal(sig.SIGTERM, before[0])
        sig.signal(sig.SIGINT, before[1])
        service.store.dispose()
