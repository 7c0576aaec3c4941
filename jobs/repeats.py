"""A job failure met again and again is said once, not at every run.

Credentials rotated in the org but not yet in the secret file, a field the org lacks, a
permission taken away: every run of the job fails the same way until a person acts, and a
service retries each poll interval. Before, each run logged its `job_failed` error, a line
a minute per job (a line a second with a one-second poll) for as long as it lasted. Now the
first failure with a message is an error, the same message from any job is info until an
hour has passed (then said again, with the count), and once the jobs that met it have run
without it, it is forgotten: its next occurrence is news again.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

REMIND_SECONDS = 3600.0


@dataclass
class _Seen:
    said_at: float
    since: float
    jobs: set[str] = field(default_factory=set)
    times: int = 1


class Repeats:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()  # the stream's threads run jobs beside the scheduler's

    def failed(self, job: str, error: str) -> tuple[bool, int, float]:
        """Whether to say `error` loudly now; how often it was met, for how many seconds."""
        now = self._monotonic()
        with self._lock:
            seen = self._seen.get(error)
            if seen is None:
                self._seen[error] = _Seen(said_at=now, since=now, jobs={job})
                return True, 1, 0.0
            seen.jobs.add(job)
            seen.times += 1
            loud = now - seen.said_at >= REMIND_SECONDS
            if loud:
                seen.said_at = now
            return loud, seen.times, now - seen.since

    def worked(self, job: str) -> None:
        """`job` ran without failing: what only it (and jobs since well) met is forgotten."""
        with self._lock:
            for error in [e for e, s in self._seen.items() if job in s.jobs]:
                seen = self._seen[error]
                seen.jobs.discard(job)
                if not seen.jobs:
                    del self._seen[error]
