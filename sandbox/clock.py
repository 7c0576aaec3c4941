"""Simulated time: the org's "now", which tests and the demo can move forward.

It runs with the wall clock from wherever it was last set, so a sandbox left alone
behaves like a live org, and `advance()` lets a test jump past an offer deadline or
a token's expiry without sleeping.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)):
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
        return self.now()

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError(f"clock.set needs a timezone-aware datetime, got naive {when.isoformat()}")
        with self._lock:
            self._offset = when - datetime.now(timezone.utc)
        return self.now()

    @property
    def offset(self) -> timedelta:
        return self._offset
