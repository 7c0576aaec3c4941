"""The org's calendar: its time zone's dates, and quarters and years that start in the
month its fiscal year does (Salesforce: Setup → Company Information, Default Time Zone
and Fiscal Year; Organization.TimeZoneSidKey and FiscalYearStartMonth). "Today" and
"this quarter" in a rule (`today`, `quarter_end`, `won_this_quarter`) are the org's: at
17:00 in Los Angeles it is still today there, whatever the date in UTC. Dates are
written as rules write them, midnight UTC of the date; custom fiscal years (periods of
any length) are not modelled. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from rules.windows import zone


@dataclass(frozen=True, slots=True)
class OrgCalendar:
    """The month the org's fiscal year starts (1 = January: calendar quarters) and its time
    zone (None: UTC) — the rule book's `fiscal_year_start_month` and `time_zone`."""

    fiscal_start: int = 1
    time_zone: str | None = None

    def day(self, now: datetime) -> datetime:
        """`now`'s date in the org's time zone, as midnight UTC of that date."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        local = now.astimezone(zone(self.time_zone))
        return datetime(local.year, local.month, local.day, tzinfo=timezone.utc)

    def quarter_start(self, now: datetime) -> datetime:
        """The first day of `now`'s fiscal quarter (midnight UTC of it): with a fiscal year
        from February, quarters run Feb–Apr, May–Jul, …"""
        day = self.day(now)
        into = (day.month - self.fiscal_start) % 3  # months since the quarter began
        return months_after(day.replace(day=1), -into)


UTC_CALENDAR = OrgCalendar()


def months_after(first: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before) the first of a month."""
    index = first.year * 12 + first.month - 1 + months
    return first.replace(year=index // 12, month=index % 12 + 1)
