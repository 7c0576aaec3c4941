"""jobs/repeats.py: the same failure is loud once, hourly while it lasts, and news again
once the jobs that met it have run without it."""
from jobs.repeats import REMIND_SECONDS, Repeats


def test_a_failure_is_loud_once_then_hourly_then_forgotten_when_its_jobs_work():
    clock = [0.0]
    r = Repeats(monotonic=lambda: clock[0])
    refused = "ConfigError: login refused"
    assert r.failed("leads", refused)[0]
    for job in ("expire", "leads", "outbox"):
        clock[0] += 60
        assert not r.failed(job, refused)[0]
    assert r.failed("leads", "ConfigError: No such column 'X'")[0], "another failure is news"
    clock[0] = REMIND_SECONDS + 1
    loud, times, seconds = r.failed("leads", refused)
    assert loud and times == 5 and seconds == REMIND_SECONDS + 1
    for job in ("expire", "outbox"):
        r.worked(job)
    assert not r.failed("remind", refused)[0], "still met by leads and remind"
    r.worked("leads")
    r.worked("remind")
    assert r.failed("leads", refused)[0], "forgotten once every job that met it worked"
