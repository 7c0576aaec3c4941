"""Time: one injectable clock, and Salesforce's datetime formats."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class CallableClock:
    """Adapts any `() -> datetime` (e.g. a sandbox's simulated clock) to a Clock."""

    def __init__(self, fn: Callable[[], datetime]) -> None:
        self._fn = fn

    def now(self) -> datetime:
        value = self._fn()
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class SalesforceTime(CallableClock):
    """Salesforce's own time, as the client reads it from the `Date` header of every
    response (connector/servertime.py): what production runs on, where a test or the
    demo may inject a simulated clock instead."""

    def __init__(self, client) -> None:  # noqa: ANN001 - a connector.client.SalesforceClient
        super().__init__(client.server_now)


def parse_sf_datetime(value: str | datetime | None) -> datetime | None:
    """`2024-05-01T10:00:00.000+0000` (REST JSON) or ISO 8601 -> aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    s = value.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    elif len(s) > 5 and s[-5] in "+-" and s[-4:].isdigit():
        s = s[:-2] + ":" + s[-2:]
    dt = datetime.fromisoformat(s)
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def format_sf_datetime(value: datetime) -> str:
    """The REST JSON form Salesforce answers with; it accepts it back on writes."""
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def as_utc(at: datetime) -> datetime:
    """An aware UTC datetime; a naive one (as SQLite hands stored times back) is taken as UTC."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
