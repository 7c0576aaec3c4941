"""Offer windows: when an offer lapses, in wall-clock or in the partner's business hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None):
    """The IANA zone, or UTC when unnamed. Raises ValueError naming the bad zone."""
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def offer_deadline(offered_at: datetime, hours: float, *, business_hours: bool, time_zone: str | None,
                   workday: tuple[int, int] = (9, 17), weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> datetime:
    """`hours` after `offered_at`, counting only workday hours on `weekdays` in `time_zone`
    when `business_hours`. Naive datetimes are taken as UTC; the answer is in UTC."""
    if offered_at.tzinfo is None:
        offered_at = offered_at.replace(tzinfo=timezone.utc)
    if hours < 0:
        raise ValueError(f"offer window of {hours} hours is negative")
    if not business_hours:
        return (offered_at + timedelta(hours=hours)).astimezone(timezone.utc)
    if not weekdays or workday[0] >= workday[1]:
        raise ValueError(f"business hours {workday} on days {weekdays} leave no working time")
    tz = zone(time_zone)
    local = offered_at.astimezone(tz)
    remaining = timedelta(hours=hours)
    day = local.date()
    cursor = local
    # Walk day by day; wall-clock construction per day keeps DST days the right length.
    for _ in range(3660):
        start = datetime(day.year, day.month, day.day, workday[0], tzinfo=tz)
        end = datetime(day.year, day.month, day.day, workday[1], tzinfo=tz) if workday[1] < 24 else \
            datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)
        if day.weekday() in weekdays:
            begin = max(cursor, start)
            if begin < end:
                available = end.astimezone(timezone.utc) - begin.astimezone(timezone.utc)
                if remaining <= available:
                    return (begin.astimezone(timezone.utc) + remaining)
                remaining -= available
        day = day + timedelta(days=1)
        cursor = datetime(day.year, day.month, day.day, tzinfo=tz)
    raise ValueError(f"offer window of {hours} hours does not end within ten years")
