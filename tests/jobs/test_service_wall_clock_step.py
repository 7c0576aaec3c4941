"""The host's wall clock stepped back (NTP correcting a fast clock, a VM restored, an
admin setting the date) while `leadrouter run` leads. APScheduler dates each next run on
the wall clock (the last run plus the interval), so a clock set back an hour held every
job, the lead stream too, for that hour: no lead was routed and /livez saw nothing wrong.
The jobs go on at their intervals of elapsed time, whatever the wall clock says."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import apscheduler.executors.base as aps_executors
import apscheduler.schedulers.base as aps_base

from jobs.app import JobResult
from jobs.leader import lock_for
from jobs.scheduler import JobSpec
from jobs.service import Service
from jobs.state import Store


class _HostWallClock(datetime):
    """This host's wall clock as APScheduler and the service read it: the real one plus
    `offset`, which the test steps (the monotonic clock goes on untouched, as a step of
    the wall clock leaves it)."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206 - datetime.now's own signature
        return datetime.now(tz) + cls.offset


def test_jobs_go_on_at_their_intervals_when_the_hosts_clock_is_set_back_an_hour(tmp_path, monkeypatch):
    import jobs.scheduler
    import jobs.service

    for module in (aps_base, aps_executors, jobs.scheduler, jobs.service):  # every reader of the wall clock
        monkeypatch.setattr(module, "datetime", _HostWallClock)
    monkeypatch.setattr(_HostWallClock, "offset", timedelta(0))
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    runs: list[float] = []

    def leads() -> JobResult:
        runs.append(time.monotonic())
        return JobResult("leads", f"r{len(runs)}", {}, 1, 0.0, None)

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.3, misfire_grace=30,
                      make_jobs=lambda stop: [JobSpec("leads", 1, leads)])
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 10
        while len(runs) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(runs) >= 2, "the job runs every second"
        _HostWallClock.offset = timedelta(hours=-1)  # the host's clock is set back an hour
        stepped, before = time.monotonic(), len(runs)
        while len(runs) < before + 3 and time.monotonic() < stepped + 10:
            time.sleep(0.05)
        assert len(runs) >= before + 3, (f"{len(runs) - before} run(s) in the 10 s after the host's clock was set "
                                         "back an hour; the job runs every second")
    finally:
        service.stop.set()
        thread.join(timeout=20)
        store.dispose()
    assert not thread.is_alive()


def test_a_job_runs_after_its_interval_of_elapsed_time_when_the_hosts_clock_is_set_forward(tmp_path, monkeypatch):
    """Set forward an hour and two seconds, a job due in four seconds looked an hour late:
    APScheduler took its run for missed (`job_missed`) and ran the next one on the wall
    clock's grid, two seconds later — a day's job would have waited most of a day, or run
    hours early. It runs after its interval of elapsed time, and nothing is said missed."""
    import apscheduler.events as aps_events

    import jobs.scheduler
    import jobs.service

    for module in (aps_base, aps_executors, jobs.scheduler, jobs.service):
        monkeypatch.setattr(module, "datetime", _HostWallClock)
    monkeypatch.setattr(_HostWallClock, "offset", timedelta(0))
    url = f"sqlite:///{tmp_path}/state.sqlite"
    store = Store(url)
    daily: list[float] = []
    missed: list[str] = []

    def leads() -> JobResult:
        return JobResult("leads", "r", {}, 1, 0.0, None)

    def housekeeping() -> JobResult:
        daily.append(time.monotonic())
        return JobResult("housekeeping", f"h{len(daily)}", {}, 1, 0.0, None)

    service = Service(store=store, lock=lock_for(url), poll_seconds=0.3, misfire_grace=1,
                      make_jobs=lambda stop: [JobSpec("leads", 1, leads), JobSpec("housekeeping", 4, housekeeping)])
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 10
        while (not daily or service._sched is None) and time.monotonic() < end:
            time.sleep(0.01)
        assert daily, "housekeeping runs at the start"
        service._sched.add_listener(lambda event: missed.append(event.job_id), aps_events.EVENT_JOB_MISSED)
        _HostWallClock.offset = timedelta(hours=1, seconds=2)  # just after its run: its next is due in 4 s
        first = daily[-1]
        while len(daily) < 2 and time.monotonic() < first + 10:
            time.sleep(0.02)
        assert len(daily) >= 2, "housekeeping ran again within 10 s"
        gap = daily[1] - daily[0]
        assert 3.5 <= gap <= 5.5, f"housekeeping (every 4 s) ran {gap:.1f} s of elapsed time after its last run"
        assert missed == [], f"runs said missed though no time was lost: {missed}"
    finally:
        service.stop.set()
        thread.join(timeout=20)
        store.dispose()
    assert not thread.is_alive()
