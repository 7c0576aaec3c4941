"""APScheduler 3.11 wiring: one worker thread, one instance per job, misfires logged.

Jobs share the state database and the API budget, so they run one at a time on a
single worker thread (no lock juggling between them); `coalesce` folds a backlog of
missed runs into one, and `misfire_grace_time` is explicit so a long GC pause or a
suspended laptop does not silently skip a run.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs.logging import get_logger

log = get_logger(component="scheduler")


@dataclass(frozen=True)
class JobSpec:
    name: str
    seconds: float
    fn: Callable[[], object]


def build(specs: list[JobSpec], misfire_grace: int, start_now: bool = True) -> BackgroundScheduler:
    sched = _ElapsedTimeScheduler(
        executors={"default": _ElapsedTimeExecutor(max_workers=1)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": misfire_grace},
        timezone=timezone.utc,
    )
    first = datetime.now(timezone.utc) if start_now else None
    for spec in specs:
        sched.add_job(spec.fn, IntervalTrigger(seconds=spec.seconds), id=spec.name, name=spec.name,
                      next_run_time=first, replace_existing=True)
    # our listener says each of these once, as JSON; APScheduler's own warning said it again
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    sched.add_listener(_Events().on_event,
                       EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return sched


class _Events:
    """A job still running when its next run is due (a lead read waiting out Salesforce's
    timeouts) is said once, not at every interval it goes on for; the next one is said when
    that run has finished and another overruns."""

    def __init__(self) -> None:
        self.overrunning: set[str] = set()

    def on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_EXECUTED:
            self.overrunning.discard(event.job_id)
        elif event.code == EVENT_JOB_ERROR:
            self.overrunning.discard(event.job_id)
            log.error("job_crashed", job=event.job_id, error=repr(event.exception),
                      traceback=event.traceback)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job_missed", job=event.job_id, scheduled=str(event.scheduled_run_time))
        elif event.job_id in self.overrunning:
            log.debug("job_still_running", job=event.job_id)
        else:
            self.overrunning.add(event.job_id)
            log.warning("job_still_running", job=event.job_id,
                        note="previous run not finished; runs due meanwhile are skipped (max_instances=1), "
                             "said once until it finishes")


class WallClockSteps:
    """How far the host's wall clock was set (stepped) since the last look, beyond the time
    that passed. APScheduler dates each next run on the wall clock (the last run plus the
    interval): a clock set back an hour held every job for that hour. Small differences
    (NTP slewing, a loaded host) are no step: each look starts afresh from the last."""

    def __init__(self, monotonic=time.monotonic, tolerance: float = 2.0) -> None:  # noqa: ANN001
        self._monotonic = monotonic
        self._tolerance = timedelta(seconds=tolerance)
        self._anchor = (datetime.now(timezone.utc), monotonic())

    def now(self) -> datetime:
        """The wall clock as of the last look, moved on by the time elapsed since: what a
        step of the host's clock after that look does not change."""
        wall, mono = self._anchor
        return wall + timedelta(seconds=self._monotonic() - mono)

    def step(self) -> timedelta:
        wall, mono = datetime.now(timezone.utc), self._monotonic()
        then_wall, then_mono = self._anchor
        self._anchor = (wall, mono)
        step = (wall - then_wall) - timedelta(seconds=mono - then_mono)
        return step if abs(step) > self._tolerance else timedelta(0)


def follow_step(sched: BackgroundScheduler, step: timedelta) -> int:
    """After the wall clock was stepped by `step`, move every job's next run by as much,
    so it comes after its interval of elapsed time; how many jobs moved. Back: a clock set
    back an hour would hold every job for the hour. Forward: a job due in ten minutes would
    look fifty minutes late, be skipped as a misfire, and wait for its next interval."""
    moved = 0
    for job in sched.get_jobs():
        if job.next_run_time is not None:
            job.modify(next_run_time=job.next_run_time + step)
            moved += 1
    return moved


class _ElapsedTimeScheduler(BackgroundScheduler):
    """APScheduler, with a step of the host's wall clock followed where the jobs are
    looked at: each time the scheduler wakes, before it decides what is due or missed.
    Its sleep runs on elapsed time, so it wakes when a job was due in elapsed time, the
    step is seen, and no job is taken for missed by a clock that merely moved. (A look from
    another thread would lose the race to this one's wake-up, the lead poll's interval
    being longer than the outbox's.)"""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - BackgroundScheduler's own
        super().__init__(*args, **kwargs)
        self._steps = WallClockSteps()

    def elapsed_now(self) -> datetime:
        """The wall clock as this scheduler last saw it, on elapsed time since (see
        `_ElapsedTimeExecutor`)."""
        return self._steps.now()

    def _process_jobs(self):  # noqa: ANN202 - APScheduler's own; returns its wait in seconds
        step = self._steps.step()
        if step:
            moved = follow_step(self, step)
            log.warning("host_clock_stepped", seconds=round(step.total_seconds()), jobs_moved=moved,
                        note="the jobs keep their intervals of elapsed time; check NTP on this host")
        return super()._process_jobs()


class _Ungraced:
    """A job as APScheduler's `run_job` sees it once our executor has decided the run is
    not missed: no grace to check again on the wall clock."""

    misfire_grace_time = None

    def __init__(self, job) -> None:  # noqa: ANN001 - APScheduler's Job
        self._job = job

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class _ElapsedTimeExecutor(ThreadPoolExecutor):
    """APScheduler's worker took a run for missed by comparing the wall clock, when the
    worker thread picked the run up, with the run's due time: a host clock set forward
    between dispatch and pick-up skipped a due run. Here how late a run is comes from the
    scheduler's own view at dispatch (steps followed) plus the elapsed time it then waited
    for the worker; a run waiting longer than the grace behind another job is still missed,
    as `misfire_grace` says."""

    def _do_submit_job(self, job, run_times):  # noqa: ANN001, ANN202 - APScheduler's own
        now = getattr(self._scheduler, "elapsed_now", lambda: datetime.now(timezone.utc))()
        late = [now - run_time for run_time in run_times]
        queued = time.monotonic()
        alias, logger_name = job._jobstore_alias, self._logger.name

        def run():  # noqa: ANN202 - run_job's events
            waited = timedelta(seconds=time.monotonic() - queued)
            grace = None if job.misfire_grace_time is None else timedelta(seconds=job.misfire_grace_time)
            events, due = [], []
            for run_time, lateness in zip(run_times, late):
                if grace is not None and lateness + waited > grace:
                    events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, alias, run_time))
                else:
                    due.append(run_time)
            return events + (run_job(_Ungraced(job), alias, due, logger_name) if due else [])

        def done(future) -> None:  # noqa: ANN001 - a concurrent.futures.Future
            if future.exception() is not None:
                self._run_job_error(job.id, future.exception(), future.exception().__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(run).add_done_callback(done)
