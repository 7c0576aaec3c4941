"""`leadrouter once` stopped with SIGTERM (a cron job killed by its timeout, a Kubernetes
CronJob past its deadline) writes what it decided before it exits, as `run` does.

Before, it finished the batch in flight and exited 0: the writes decided in the state and
not yet sent stayed pending until the next cron run, the leads offered in the state while
the org still showed them as before, and the cron log said all was well. Now the outbox's
pending writes go out for at most `[schedule] stop_flush` seconds, what is left is said
(`stop_flush_left`), and the exit is non-zero with a line saying why."""
from __future__ import annotations

import os
import signal
import time

import pytest

from jobs.commands import EXIT_TERMINATED

from .conftest import SECRET_ENV
from .test_crash_e2e import outbox_counts, writing
from .test_stop_flush_e2e import logged, offered_in_state_not_in_org, stop_flush_config

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def test_sigterm_on_once_mid_write_back_writes_what_was_decided_and_exits_non_zero(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=6)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = stop_flush_config(tmp_path, sb, 30)
    time.sleep(1.1)  # SOQL datetimes are whole seconds: let the seed fall before the run's start
    proc = writing(sb, cfg, "once", batches=2, latency_ms=400)
    time.sleep(0.15)  # the third batch is on the wire
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_TERMINATED != 0, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    counts = outbox_counts(tmp_path)
    assert counts.get("pending", 0) == 0 and counts.get("sent", 0) == 0, \
        f"decided writes left unsent by a stopped `once`: {counts}"
    assert counts.get("confirmed", 0) > 3 * 200, counts  # more than the batches on the wire at the signal
    wrong = offered_in_state_not_in_org(sb, tmp_path)
    assert not wrong, f"{len(wrong)} leads offered in the state only, e.g. {wrong[:3]}"
    assert not logged(err, "stop_flush_left"), err[-2000:]
    assert "stopped by SIGTERM" in err and "every decided write was sent" in err, err[-2000:]


# the deadline is a timed wait, which never ends under libfaketime (RELIABILITY.md, 'The faketime hang')
@pytest.mark.skipif("faketime" in os.environ.get("LD_PRELOAD", ""),
                    reason="the stop flush's deadline is a timed wait, which libfaketime never ends")
def test_sigterm_on_once_with_a_short_stop_flush_says_what_is_left_for_the_next_run(
        sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=40, leads=1200, random_seed=7)
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = stop_flush_config(tmp_path, sb, 1)
    time.sleep(1.1)
    proc = writing(sb, cfg, "once", batches=2, latency_ms=1500)
    time.sleep(0.15)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - signalled
    assert proc.returncode == EXIT_TERMINATED, err[-2000:]
    assert stopped_after < 10, f"took {stopped_after:.1f} s to stop"
    left = outbox_counts(tmp_path)
    assert left.get("sent", 0) == 0, f"a batch left in an unknown state: {left}"
    assert left.get("pending", 0) > 0, f"the deadline cut nothing short: {left}"
    said = logged(err, "stop_flush_left")
    assert said and said[-1]["pending"] == left["pending"], err[-3000:]
    assert said[-1]["confirmed"] >= 200, f"the flush before stopping wrote nothing: {said[-1]}"
    assert f"{left['pending']} decided writes left pending" in err, err[-2000:]
