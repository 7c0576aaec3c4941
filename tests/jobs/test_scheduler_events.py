"""What the scheduler says while a job overruns (a lead read waiting out Salesforce's
timeouts for an hour): once, not at every interval it goes on for, and not twice over
(APScheduler's own warning beside our JSON line)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import structlog
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent, JobSubmissionEvent

from jobs.scheduler import JobSpec, _Events, build

AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def skipped(job: str) -> JobSubmissionEvent:
    return JobSubmissionEvent(EVENT_JOB_MAX_INSTANCES, job, "default", [AT])


def test_a_job_that_overruns_for_many_intervals_is_said_once_per_overrun():
    events = _Events()
    with structlog.testing.capture_logs() as logs:
        for _ in range(60):  # an hour of a 60 s poll interval
            events.on_event(skipped("leads"))
        events.on_event(skipped("outbox"))
        events.on_event(JobExecutionEvent(EVENT_JOB_EXECUTED, "leads", "default", AT))
        events.on_event(skipped("leads"))  # a new overrun is news
    said = [(e["job"], e["log_level"]) for e in logs if e["event"] == "job_still_running"]
    assert [s for s in said if s[1] == "warning"] == [("leads", "warning"), ("outbox", "warning"),
                                                      ("leads", "warning")], said


def test_apschedulers_own_warnings_do_not_repeat_ours():
    build([JobSpec("leads", 60, lambda: None)], misfire_grace=30, start_now=False)
    assert not logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.WARNING)
    assert logging.getLogger("apscheduler.scheduler").isEnabledFor(logging.ERROR)
