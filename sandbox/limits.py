"""The org's daily API request allocation (DailyApiRequests).

Each authenticated REST call uses one request; past the maximum every call answers
403 REQUEST_LIMIT_EXCEEDED until the 24-hour window (org time) rolls over. Every
response reports usage in `Sforce-Limit-Info: api-usage=U/M`.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from sandbox.errors import SalesforceError

if TYPE_CHECKING:
    from sandbox.clock import Clock

WINDOW = timedelta(hours=24)
DEFAULT_DAILY_LIMIT = 1_000_000  # big enough for a 1M-lead backfill; tests set small ones


class ApiLimit:
    def __init__(self, clock: Clock, maximum: int = DEFAULT_DAILY_LIMIT):
        self.clock = clock
        self.maximum = maximum
        self.used = 0
        self._window_start = clock.now()
        self._lock = threading.Lock()

    def _roll(self) -> None:
        if self.clock.now() - self._window_start >= WINDOW:
            self._window_start = self.clock.now()
            self.used = 0

    def consume(self) -> None:
        """Count one call, or refuse it when the allocation is spent."""
        with self._lock:
            self._roll()
            if self.used >= self.maximum:
                raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.used += 1

    def header(self) -> str:
        with self._lock:
            self._roll()
            return f"api-usage={self.used}/{self.maximum}"

    def set(self, maximum: int | None = None, used: int | None = None) -> None:
        with self._lock:
            if maximum is not None:
                if maximum < 1:
                    raise ValueError(f"the daily API limit must be at least 1, got {maximum}")
                self.maximum = maximum
            if used is not None:
                self.used = max(0, used)

    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return max(0, self.maximum - self.used)
