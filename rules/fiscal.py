"""The org's fiscal calendar: quarters and years that start in the month its fiscal year
does (Salesforce: Setup → Fiscal Year, Organization.FiscalYearStartMonth; 1 = January,
calendar quarters). "This quarter" in a rule (`quarter_end`, `won_this_quarter`) is the
org's fiscal quarter. Custom fiscal years (periods of any length) are not modelled.
Instants are UTC; pure."""
from __future__ import annotations

from datetime import datetime, timezone


def quarter_start(now: datetime, fiscal_start: int = 1) -> datetime:
    """The first instant (UTC) of `now`'s quarter of a fiscal year starting in month
    `fiscal_start` (1: calendar quarters; 2: Feb–Apr, May–Jul, …)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    into = (now.month - fiscal_start) % 3  # months since the quarter began
    return months_after(datetime(now.year, now.month, 1, tzinfo=timezone.utc), -into)


def months_after(first: datetime, months: int) -> datetime:
    """The first of the month `months` after (or before) the first of a month."""
    index = first.year * 12 + first.month - 1 + months
    return first.replace(year=index // 12, month=index % 12 + 1)
