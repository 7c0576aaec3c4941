"""The org's calendar: its time zone's dates, and quarters and years that start in the
month its fiscal year does (Salesforce: Setup → Company Information, Default Time Zone
and Fiscal Year; Organization.TimeZoneSidKey and FiscalYearStartMonth). "Today" and
"this quarter" in a rule (`today`, `quarter_end`, `won_this_quarter`) are the org's: at
17:00 in Los Angeles it is still today there, whatever the date in UTC. Dates are
written as rules write them, midnight UTC of the date; custom fiscal years (periods of
any length) are not modelled. Pure."""
from __future__ import annotations

from datetime import datetime, timezone

from rules.windows import zone


def org_day(now: datetime, time_zone: str | None = None) -> datetime:
    """`now`'s date in the org's time zone, as midnight UTC of that date."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    local = now.astimezone(zone(time_zone))
    return datetime(local.year, local.month, local.day, tzinfo=timezone.utc)


def quarter_start(now: datetime, fiscal_start: int = 1, time_zone: str | None = None) -> datetime:
    """The first day of `now`'s quarter (midnight UTC of it) of a fiscal year starting in
    month `fiscal_start` (1: calendar quarters; 2: Feb–Apr, May–Jul, …), in the org's zone."""
    day = org_day(now, time_zone)
    into = (day.month - fiscal_start) % 3  # months since the quarter began
    return months_after(day.replace(day=1), -into)


def months_after(first: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before) the first of a month."""
    index = first.year * 12 + first.month - 1 + months
    return first.replace(year=index // 12, month=index % 12 + 1)
