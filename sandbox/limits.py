"""The org's daily API request allocation (DailyApiRequests).

Each authenticated REST call uses one request. Salesforce measures the allocation over
a rolling 24 hours (org time): the calls of the last 24 hours count, so room comes back
as old calls age out, not all at once at a daily reset. Past the maximum every call
answers 403 REQUEST_LIMIT_EXCEEDED. Every response reports usage in
`Sforce-Limit-Info: api-usage=U/M`. Calls are counted by the minute, which is as
finely as anyone can tell.
"""
from __future__ import annotations

import threading
from collections import deque
from datetime import timedelta
from typing import TYPE_CHECKING

from sandbox.errors import SalesforceError

if TYPE_CHECKING:
    from sandbox.clock import Clock

WINDOW = timedelta(hours=24)
_MINUTE = 60
_WINDOW_MINUTES = int(WINDOW.total_seconds()) // _MINUTE
DEFAULT_DAILY_LIMIT = 1_000_000  # big enough for a 1M-lead backfill; tests set small ones


class ApiLimit:
    def __init__(self, clock: Clock, maximum: int = DEFAULT_DAILY_LIMIT):
        self.clock = clock
        self.maximum = maximum
        self._minutes: deque[list[int]] = deque()  # [minute, calls], oldest first
        self._used = 0  # the sum of those calls
        self._lock = threading.Lock()

    def _now(self) -> int:
        return int(self.clock.now().timestamp()) // _MINUTE

    def _roll(self) -> int:
        """Drop the calls older than the window; the current minute."""
        now = self._now()
        minutes = self._minutes
        while minutes and minutes[0][0] <= now - _WINDOW_MINUTES:
            self._used -= minutes.popleft()[1]
        return now

    def _add(self, now: int, calls: int) -> None:
        if self._minutes and self._minutes[-1][0] == now:
            self._minutes[-1][1] += calls
        else:
            self._minutes.append([now, calls])
        self._used += calls

    @property
    def used(self) -> int:
        with self._lock:
            self._roll()
            return self._used

    def consume(self) -> None:
        """Count one call, or refuse it when the allocation is spent."""
        with self._lock:
            now = self._roll()
            if self._used >= self.maximum:
                raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self._add(now, 1)

    def header(self) -> str:
        return f"api-usage={self.used}/{self.maximum}"

    def set(self, maximum: int | None = None, used: int | None = None) -> None:
        """A test's or an admin's setting: `used` calls as if all made this minute."""
        with self._lock:
            if maximum is not None:
                if maximum < 1:
                    raise ValueError(f"the daily API limit must be at least 1, got {maximum}")
                self.maximum = maximum
            if used is not None:
                self._minutes.clear()
                self._used = 0
                self._add(self._now(), max(0, used))

    def snapshot(self) -> list[list[int]]:
        """The calls of the window by minute, for a restart to count them on."""
        with self._lock:
            self._roll()
            return [list(m) for m in self._minutes]

    def restore(self, minutes: list[list[int]]) -> None:
        with self._lock:
            self._minutes.clear()
            self._used = 0
            for minute, calls in sorted(minutes):
                self._add(int(minute), int(calls))
            self._roll()

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return max(0, self.maximum - self._used)
