"""The org's calendar: its time zone's dates, and quarters and years that start in the
month its fiscal year does (Salesforce: Setup → Company Information, Default Time Zone
and Fiscal Year; Organization.TimeZoneSidKey and FiscalYearStartMonth). "Today" and
"this quarter" in a rule (`today`, `quarter_end`, `won_this_quarter`) are the org's: at
17:00 in Los Angeles it is still today there, whatever the date in UTC. Dates are
written as rules write them, midnight UTC of the date. An org with custom fiscal years
(Setup → Fiscal Year → Custom: a 4-4-5 year, a year ending on the last Saturday of
September) defines its quarters and years itself, as Period rows; where one of those
covers the day, its quarter and year are the org's, and the month rule counts the days
no custom year covers. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from rules.windows import zone


_LAST = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class FiscalPeriod:
    """One of the org's custom fiscal quarters or years (Salesforce's Period, Type
    'Quarter' or 'Year'): its first and last dates, both inside it."""

    kind: str  # "Quarter" or "Year"
    start: date
    end: date
    label: str = ""  # FullyQualifiedLabel, e.g. "Q1 FY2027": what explain and validate say


@dataclass(frozen=True, slots=True)
class OrgCalendar:
    """The month the org's fiscal year starts (1 = January: calendar quarters) and its time
    zone (None: UTC) — the rule book's `fiscal_year_start_month` and `time_zone` — and the
    org's custom fiscal periods, read from the org at start (none: a standard year)."""

    fiscal_start: int = 1
    time_zone: str | None = None
    periods: tuple[FiscalPeriod, ...] = ()

    def period(self, kind: str, now: datetime) -> FiscalPeriod | None:
        """The org's custom quarter or year that holds `now`'s date in the org, if any."""
        if not self.periods:
            return None
        today = self.day(now).date()
        return next((p for p in self.periods if p.kind == kind and p.start <= today <= p.end), None)

    def day(self, now: datetime) -> datetime:
        """`now`'s date in the org's time zone, as midnight UTC of that date."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        local = now.astimezone(zone(self.time_zone))
        return datetime(local.year, local.month, local.day, tzinfo=timezone.utc)

    def quarter_start(self, now: datetime) -> datetime:
        """The first day of `now`'s fiscal quarter (midnight UTC of it): with a fiscal year
        from February, quarters run Feb–Apr, May–Jul, …"""
        custom = self.period("Quarter", now)
        if custom is not None:
            return _midnight(custom.start)
        day = self.day(now)
        into = (day.month - self.fiscal_start) % 3  # months since the quarter began
        return months_after(day.replace(day=1), -into)

    def quarter_end(self, now: datetime) -> datetime:
        """The last moment of `now`'s fiscal quarter, as rules write its last day."""
        custom = self.period("Quarter", now)
        if custom is not None:
            return _midnight(custom.end + timedelta(days=1)) - _LAST
        return months_after(self.quarter_start(now), 3) - _LAST

    def year_end(self, now: datetime) -> datetime:
        """The last moment of `now`'s fiscal year, as rules write its last day."""
        custom = self.period("Year", now)
        if custom is not None:
            return _midnight(custom.end + timedelta(days=1)) - _LAST
        today = self.day(now)
        start = self.fiscal_start
        year_start = today.replace(year=today.year if today.month >= start else today.year - 1, month=start, day=1)
        return months_after(year_start, 12) - _LAST


UTC_CALENDAR = OrgCalendar()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def months_after(first: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before) the first of a month."""
    index = first.year * 12 + first.month - 1 + months
    return first.replace(year=index // 12, month=index % 12 + 1)
