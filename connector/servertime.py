"""Salesforce's time, as its own responses tell it.

Every HTTP response carries a `Date` header written by Salesforce's clock. The
connector bounds its incremental reads and dates its watermarks and deadlines by
that clock, never by the host's: a host ten minutes fast once made every new lead
fall outside the read window for good. `ServerClock` keeps the last `Date` seen and
the host's elapsed time (since boot, sleep included) when it arrived, so between
responses it runs on without being disturbed by the host's wall clock being set,
stepped or wrong, or by the host being suspended.

The header has whole seconds and travels for a round trip, so the estimate trails
the truth by up to about a second plus half a round trip; the reads' lookback
(minutes) absorbs that.

The clock that last read a `Date` header is also the process's estimate of the org's time
for its log lines (`org_now`; jobs/logging.py adds it to every line as `org_time`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable


def parse_http_date(value: str | None) -> datetime | None:
    """`Sat, 05 Dec 2026 12:00:00 GMT` -> aware UTC datetime; None when absent or garbled."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def since_boot() -> float:
    """Elapsed seconds that go on while the host is suspended (Linux's CLOCK_BOOTTIME):
    the monotonic clock stops then, and a host woken from a day's sleep would carry the
    org's time on from where it fell asleep. Elsewhere, the monotonic clock. Neither
    moves when the wall clock is set."""
    return time.clock_gettime(_BOOTTIME) if _BOOTTIME is not None else time.monotonic()


class ServerClock:
    """The org's "now": the last `Date` header seen plus the monotonic time since.

    Until the first response arrives it answers with the host's clock (`known` is
    False then); the OAuth login is the first response, so in practice every job
    runs on server time."""

    def __init__(self, host: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] = since_boot):
        self._host = host or (lambda: datetime.now(timezone.utc))
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor: tuple[datetime, float] | None = None  # (server time, monotonic at receipt)
        self._skew: timedelta | None = None

    @property
    def known(self) -> bool:
        return self._anchor is not None

    @property
    def skew(self) -> timedelta | None:
        """Server minus host, as of the last response (positive: the host is behind)."""
        return self._skew

    def observe(self, date_header: str | None) -> None:
        server = parse_http_date(date_header)
        if server is None:
            return
        mono, host = self._monotonic(), self._host()
        with self._lock:
            if self._anchor is not None:
                # A header has whole seconds: keep the anchor that predicts later, so the
                # estimate never steps back by the fraction a newer header dropped.
                predicted = self._anchor[0] + timedelta(seconds=mono - self._anchor[1])
                if timedelta(0) <= predicted - server < timedelta(seconds=1):
                    self._skew = predicted - host
                    _note(self)
                    return
            self._anchor = (server, mono)
            self._skew = server - host
        _note(self)

    def host_now(self) -> datetime:
        """The host's wall clock (what `now` answers before Salesforce has)."""
        return self._host()

    def now(self) -> datetime:
        with self._lock:
            anchor = self._anchor
        if anchor is None:
            return self._host()
        server, at = anchor
        return server + timedelta(seconds=self._monotonic() - at)


# How long a learnt offset is trusted: a host's clock drifts seconds a day, but NTP may have
# stepped it, or the process may run on another node, since; older, it is not worth a guess.
LEARNT_OFFSET_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class LearntOffset:
    """Salesforce's clock minus the host's as an earlier process measured it (kept in the
    state, which may be lost), and when, by Salesforce's clock. Before this process has
    heard from Salesforce it is the best guess of Salesforce's time: a JWT login stamps
    its first assertion with it instead of the host's bare clock."""

    offset: timedelta
    learnt_at: datetime

    def age(self, host_now: datetime) -> timedelta:
        """How long ago it was learnt, by the Salesforce time it predicts."""
        return host_now + self.offset - self.learnt_at

    def usable(self, host_now: datetime) -> bool:
        # a little negative is the Date header's whole seconds; more, the host's clock was
        # set back since, and the offset says nothing of it
        return -timedelta(minutes=1) <= self.age(host_now) <= LEARNT_OFFSET_MAX_AGE


_latest: ServerClock | None = None  # the clock that last heard from Salesforce


def _note(clock: ServerClock) -> None:
    global _latest
    _latest = clock


def org_now() -> datetime | None:
    """The org's time by the clock that last read a Salesforce response's `Date` in this
    process; None before any answer (the host's time is not passed off as the org's)."""
    clock = _latest
    return clock.now() if clock is not None and clock.known else None
