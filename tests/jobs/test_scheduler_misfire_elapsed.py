"""A run is missed when it starts later than `misfire_grace` in elapsed time, not when
the host's wall clock was set forward between its dispatch and its start. APScheduler's
worker compared the wall clock with the run's due time when the worker thread took the
run: a clock stepped forward an hour in that moment skipped the lead stream's run as
"missed" though it was due and nothing waited (CI saw it once in six runs)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import apscheduler.executors.base as aps_executors
import apscheduler.schedulers.base as aps_base
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

import jobs.scheduler
from jobs.scheduler import JobSpec, build


class _HostWallClock(datetime):
    offset = timedelta(0)

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206 - datetime.now's own signature
        return datetime.now(tz) + cls.offset


def _scheduler_with_a_busy_worker(monkeypatch, grace: int):  # noqa: ANN001, ANN202
    """`busy` holds the one worker thread until released; `leads` is due at once and waits
    for the worker behind it."""
    for module in (aps_base, aps_executors, jobs.scheduler):
        monkeypatch.setattr(module, "datetime", _HostWallClock)
    monkeypatch.setattr(_HostWallClock, "offset", timedelta(0))
    release, busy_started = threading.Event(), threading.Event()
    ran: list[str] = []

    def busy() -> None:
        busy_started.set()
        release.wait(10)

    sched = build([JobSpec("busy", 3600, busy)], grace)
    events: list[tuple[str, int]] = []
    sched.add_listener(lambda e: events.append((e.job_id, e.code)), EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    sched.start()
    assert busy_started.wait(5), "the first job holds the worker"
    sched.add_job(lambda: ran.append("leads"), "interval", seconds=3600, id="leads",
                  next_run_time=_HostWallClock.now(jobs.scheduler.timezone.utc))
    return sched, release, ran, events


def _wait_for(events: list, job: str, seconds: float = 5) -> None:
    end = time.monotonic() + seconds
    while not any(j == job for j, _ in events) and time.monotonic() < end:
        time.sleep(0.01)


def test_a_run_waiting_for_the_worker_is_not_missed_when_the_host_clock_jumps_forward(monkeypatch):
    sched, release, ran, events = _scheduler_with_a_busy_worker(monkeypatch, grace=30)
    try:
        time.sleep(0.3)  # leads is dispatched and queued behind busy
        _HostWallClock.offset = timedelta(hours=1)  # the host's clock is set forward an hour
        release.set()
        _wait_for(events, "leads")
        assert ("leads", EVENT_JOB_MISSED) not in events, "a clock step is no lost time"
        assert ran == ["leads"]
    finally:
        release.set()
        sched.shutdown(wait=False)


def test_a_run_that_waited_longer_than_the_grace_in_elapsed_time_is_still_missed(monkeypatch):
    sched, release, ran, events = _scheduler_with_a_busy_worker(monkeypatch, grace=1)
    try:
        time.sleep(1.6)  # leads waits behind busy for longer than its grace
        release.set()
        _wait_for(events, "leads")
        assert ("leads", EVENT_JOB_MISSED) in events
        assert ran == []
    finally:
        release.set()
        sched.shutdown(wait=False)


def test_a_run_that_waited_less_than_the_grace_runs(monkeypatch):
    sched, release, ran, events = _scheduler_with_a_busy_worker(monkeypatch, grace=5)
    try:
        time.sleep(0.3)
        release.set()
        _wait_for(events, "leads")
        assert ran == ["leads"]
    finally:
        release.set()
        sched.shutdown(wait=False)
