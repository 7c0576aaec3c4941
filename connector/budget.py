"""The API budget: how much of the org's daily allowance we have spent, and may spend.

Salesforce reports org-wide usage (`Sforce-Limit-Info: api-usage=U/M`) on every
response; the limit is a rolling 24 hours. Two settings apply:

- `share`: the fraction of the org's daily limit *this connector* may use. Our own
  calls are counted in hourly buckets over the last 24 hours; once they reach
  `share × M`, the next call raises `BudgetExceeded` before it is made.
- `pause_non_urgent_at`: the org-wide usage fraction at which jobs that can wait
  (partner sync, reports) hold back, leaving the rest for people and urgent work.
"""
from __future__ import annotations

import re
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import structlog

from .config import BudgetConfig
from .errors import BudgetExceeded, Failure

_HOUR = 3600
# org-wide usage; the lookbehind skips `per-app-api-usage=` that may precede it
_API_USAGE = re.compile(r"(?<![-\w])api-usage=(\d+)/(\d+)")


ORG_RECHECK = timedelta(minutes=5)  # how stale "the org's limit is spent" may get before one call probes it


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """(used, max) from `Sforce-Limit-Info: api-usage=18/15000[; per-app-api-usage=…]`."""
    match = _API_USAGE.search(header) if header else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ApiBudget:
    def __init__(
        self,
        config: BudgetConfig,
        *,
        clock: Callable[[], datetime] = _utcnow,
        logger: Any = None,
    ):
        self.config = config
        self._clock = clock
        self._log = logger or structlog.get_logger("connector.budget")
        self.org_used: int | None = None
        self.org_max: int | None = None
        self._buckets: deque[list[int]] = deque()  # [hour, calls], oldest first
        # this instance's own calls by hour: those of its earlier processes (a cron `once`
        # is a new process every run) and this one's, kept in the state between (`hours`)
        self._own: dict[int, int] = {}
        self._holding_back = False
        self._org_seen_at: datetime | None = None  # when org_used/org_max were last read

    # --- bookkeeping ---------------------------------------------------------------
    def observe(self, used: int, maximum: int) -> None:
        """Record the org-wide figures from a `Sforce-Limit-Info` header."""
        self.org_used, self.org_max = used, maximum
        self._org_seen_at = self._clock()
        self._note_pause_state()

    def spend(self, calls: int = 1) -> None:
        hour = int(self._clock().timestamp()) // _HOUR
        self._add(hour, calls)
        self._own[hour] = self._own.get(hour, 0) + calls
        self._expire(hour)

    def _add(self, hour: int, calls: int) -> None:
        if self._buckets and self._buckets[-1][0] == hour:
            self._buckets[-1][1] += calls
            return
        at = len(self._buckets)
        while at and self._buckets[at - 1][0] > hour:
            at -= 1
        if at and self._buckets[at - 1][0] == hour:
            self._buckets[at - 1][1] += calls
        else:
            self._buckets.insert(at, [hour, calls])

    def carry(self, instances: Mapping[str, Mapping[str, int]]) -> None:
        """The calls of the last 24 hours made before this process started, by every instance
        of this connector (`instances`: instance → {hour: calls}, as `hours` of status() kept
        them in the state): the share bounds the connector's day, not one process's life."""
        for hours in instances.values():
            for hour, calls in self._recent(hours):
                self._add(hour, calls)

    def adopt(self, hours: Mapping[str, int]) -> None:
        """This instance's own earlier calls (its row in the state), carried on in `hours`."""
        for hour, calls in self._recent(hours):
            self._own[hour] = self._own.get(hour, 0) + calls

    def _recent(self, hours: Mapping[str, int]) -> list[tuple[int, int]]:
        now_hour = int(self._clock().timestamp()) // _HOUR
        out = []
        for key, calls in hours.items():
            try:
                hour, count = int(key), int(calls)
            except (TypeError, ValueError):
                continue  # not ours to judge: a row another release wrote
            if now_hour - 24 < hour <= now_hour and count > 0:
                out.append((hour, count))
        return out

    def hours(self) -> dict[str, int]:
        """This instance's calls by hour over the last 24 hours, earlier processes' included."""
        now_hour = int(self._clock().timestamp()) // _HOUR
        for hour in [h for h in self._own if h <= now_hour - 24]:
            del self._own[hour]
        return {str(h): c for h, c in sorted(self._own.items())}

    def _expire(self, hour: int) -> None:
        while self._buckets and self._buckets[0][0] <= hour - 24:
            self._buckets.popleft()

    @property
    def spent(self) -> int:
        """Our calls in the last 24 hours."""
        self._expire(int(self._clock().timestamp()) // _HOUR)
        return sum(c for _, c in self._buckets)

    @property
    def allowance(self) -> int | None:
        """Calls we may make in 24 hours, once the org's limit is known."""
        if self.org_max is None:
            return None
        return int(self.org_max * self.config.share)

    # --- decisions -----------------------------------------------------------------
    def check(self) -> None:
        """Raise BudgetExceeded if the next call would go over our share or the org's limit."""
        allowance = self.allowance
        if allowance is not None and self.spent >= allowance:
            self._stop(
                "LEADROUTER_SHARE_SPENT",
                f"this connector used {self.spent} calls in 24h, its share is {allowance} "
                f"({self.config.share:.0%} of {self.org_max})",
                "wait for the rolling 24h window, or raise budget.share in the connector config",
            )
        if self.org_used is not None and self.org_max and self.org_used >= self.org_max:
            # The org's figure only moves when a response carries it: without a probe now
            # and then, a long-running process would stay stopped after the limit resets.
            if self._org_seen_at is None or self._clock() - self._org_seen_at >= ORG_RECHECK:
                self._org_seen_at = self._clock()  # at most one probe per interval
                self._log.info("api budget: asking whether the org's daily limit has room again")
                return
            self._stop(
                "REQUEST_LIMIT_EXCEEDED",
                f"the org used {self.org_used} of {self.org_max} daily API calls",
                "wait for the rolling 24h window or ask Salesforce for a higher limit",
            )

    def _stop(self, code: str, message: str, fix: str) -> None:
        self._log.warning("api budget spent, stopping the cycle", code=code, detail=message)
        raise BudgetExceeded(Failure("budget", code, message, fix))

    def _org_figures_fresh(self) -> bool:
        return self._org_seen_at is not None and self._clock() - self._org_seen_at < ORG_RECHECK

    def org_fraction(self) -> float | None:
        if self.org_used is None or not self.org_max:
            return None
        return self.org_used / self.org_max

    def should_pause_non_urgent(self) -> bool:
        fraction = self.org_fraction() if self._org_figures_fresh() else None
        allowance = self.allowance
        own_spent = allowance is not None and self.spent >= allowance
        return own_spent or (fraction is not None and fraction >= self.config.pause_non_urgent_at)

    def _note_pause_state(self) -> None:
        pause = self.should_pause_non_urgent()
        if pause != self._holding_back:
            self._holding_back = pause
            if pause:
                self._log.warning("api budget: holding back non-urgent jobs", **self._said())
            else:
                self._log.info("api budget: non-urgent jobs may run again", **self._said())

    def _said(self) -> dict[str, Any]:
        return {k: v for k, v in self.status().items() if k != "hours"}

    def status(self) -> dict[str, Any]:
        """A status entry for `leadrouter status` and health output."""
        fraction = self.org_fraction()
        return {
            "org_used": self.org_used,
            "org_max": self.org_max,
            "org_fraction": round(fraction, 4) if fraction is not None else None,
            "spent_24h": self.spent,
            "allowance_24h": self.allowance,
            "share": self.config.share,
            "pause_non_urgent_at": self.config.pause_non_urgent_at,
            "holding_back": self.should_pause_non_urgent(),
            "hours": self.hours(),
        }
