"""A failed run of a long-interval job comes again after one poll interval, through the
real service loop and its APScheduler: a partner sync (every 15 minutes by default)
that failed while Salesforce was away used to leave the lead stream without partners
for those 15 minutes once it was back."""
from __future__ import annotations

import threading
import time

from jobs.app import JobResult
from jobs.leader import lock_for
from jobs.scheduler import JobSpec
from jobs.service import Service
from jobs.state import Store


def test_a_failed_long_interval_job_is_retried_after_a_poll_interval_not_its_own(tmp_path):
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    runs: list[float] = []

    def sync() -> JobResult:
        runs.append(time.monotonic())
        error = "TransientError: query: ConnectionError" if len(runs) == 1 else None
        return JobResult("sync_partners", f"r{len(runs)}", {}, 1, 0.0, error)

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.3, misfire_grace=30,
                      make_jobs=lambda stop: [JobSpec("sync_partners", 900, sync)])
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 10
        while len(runs) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(runs) == 2, "the failed run was not retried within 10 s (its interval is 900 s)"
        assert runs[1] - runs[0] < 3
        time.sleep(1.0)
        assert len(runs) == 2, "a run that succeeded keeps its own interval"
    finally:
        service.stop.set()
        thread.join(timeout=20)
        store.dispose()
    assert not thread.is_alive()


def test_a_job_that_keeps_failing_is_retried_ever_less_often(tmp_path):
    """A job failing for good (a field the org lacks) must not spend API calls every poll
    interval: the wait doubles from one poll interval up to the job's own."""
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    runs: list[float] = []

    def sync() -> JobResult:
        runs.append(time.monotonic())
        return JobResult("sync_partners", f"r{len(runs)}", {}, 1, 0.0, "MalformedQuery: No such column")

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.25, misfire_grace=30,
                      make_jobs=lambda stop: [JobSpec("sync_partners", 900, sync)])
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        time.sleep(4.5)
    finally:
        service.stop.set()
        thread.join(timeout=20)
        store.dispose()
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    # 0.25, 0.5, 1, 2 s: 5 runs in 4.5 s (18 at a fixed 0.25 s)
    assert 3 <= len(runs) <= 6, gaps
    assert all(later > earlier * 1.5 for earlier, later in zip(gaps, gaps[1:])), gaps
