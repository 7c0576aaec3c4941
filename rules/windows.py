"""Offer windows: when an offer lapses, in wall-clock or in the partner's business hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from difflib import get_close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
_HOST_FILES = frozenset({"localtime", "posixrules"})


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The IANA zone, or UTC when unnamed. Raises ValueError naming the bad zone."""
    if not name:
        return UTC
    if name in _HOST_FILES or name.startswith(("right/", "posix/")):
        # files beside the IANA zones: the host's own setting ("localtime": whatever the machine
        # running the connector is set to), or copies counting leap seconds: never a partner's
        raise ValueError(f"unknown time zone {str(name)[:60]!r}; use an IANA name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):  # OSError: a name too long for a file name
        raise ValueError(f"unknown time zone {str(name)[:60]!r}; use an IANA name such as 'Europe/Berlin'") from None


@lru_cache(maxsize=4096)
def known_zone(name: str) -> bool:
    """Whether Python knows the zone (cached either way: a wrong name is asked about at
    every routing build, once per partner that carries it)."""
    try:
        zone(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def zone_fix(name: str, suggest: bool = True) -> str | None:
    """None for a zone Python knows; else the fix, naming the IANA zone meant where the name
    is a city's or a near miss ("Berlin", "new york", "Asia/Tokio" → Europe/Berlin,
    America/New_York, Asia/Tokyo)."""
    if known_zone(name):
        return None
    if not suggest:
        return "set Time_Zone__c to an IANA name such as 'Europe/Berlin'"
    bare = name.split("/", 1)[1] if name.startswith(("right/", "posix/")) else None
    if bare and known_zone(bare):  # a copy of a zone beside the zone itself
        return f"set Time_Zone__c to {bare!r}"
    city = name.strip().replace(" ", "_").lower()
    names = _zone_names()
    meant = sorted(z for z in names if z.rsplit("/", 1)[-1].lower() == city or z.lower() == city)
    if not meant:  # a misspelling ("Asia/Tokio")
        lower = {z.lower(): z for z in names}
        meant = [lower[m] for m in get_close_matches(name.strip().replace(" ", "_").lower(), lower, n=1, cutoff=0.85)]
    if meant:
        return f"set Time_Zone__c to {meant[0]!r}"
    return "set Time_Zone__c to an IANA name such as 'Europe/Berlin'"


_SAME_FROM, _SAME_TO = datetime(2000, 1, 1, tzinfo=UTC), datetime(2050, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=64)
def same_clock(a: str | None, b: str | None) -> bool:
    """Whether two zone names keep one clock from 2000 to 2050: an alias and its zone
    (Asia/Calcutta, Asia/Kolkata; Europe/Kiev, Europe/Kyiv), UTC by any name (none: UTC),
    two cities that keep the same time (Berlin and Paris: their days turn at one moment).
    A name Python does not know is no clock. Compared day by day, and where the offset
    changes, to the second it changes (a few tens of ms: asked at start and by validate)."""
    if (a or "UTC") == (b or "UTC"):
        return True
    try:
        za, zb = zone(a), zone(b)
    except ValueError:
        return False
    day = timedelta(days=1)
    t, before = _SAME_FROM, None
    while t <= _SAME_TO:
        offset = t.astimezone(za).utcoffset()
        if offset != t.astimezone(zb).utcoffset():
            return False
        if before is not None and offset != before and _change(za, t - day, t) != _change(zb, t - day, t):
            return False
        before, t = offset, t + day
    return True


def _change(tz: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """The second within (lo, hi] the zone's offset becomes the one it has at `hi`."""
    last = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == last:
            hi = mid
        else:
            lo = mid
    return hi


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    from zoneinfo import available_timezones  # reads the zone database: only when a name is wrong

    return frozenset(z for z in available_timezones()  # not the host's "localtime", nor copies
                     if z not in _HOST_FILES and not z.startswith(("right/", "posix/")))


def offer_deadline(offered_at: datetime, hours: float, *, business_hours: bool, time_zone: str | None,
                   workday: tuple[float, float] = (9, 17), weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> datetime:
    """`hours` after `offered_at`; with `business_hours`, only hours inside `workday` on
    `weekdays` in `time_zone` count. Naive datetimes are taken as UTC; the answer is UTC."""
    if offered_at.tzinfo is None:
        offered_at = offered_at.replace(tzinfo=UTC)
    if hours < 0:
        raise ValueError(f"offer window of {hours} hours is negative")
    if not business_hours:
        return (offered_at + timedelta(hours=hours)).astimezone(UTC)
    return _business_deadline(offered_at, float(hours), time_zone, tuple(workday), tuple(weekdays))


@lru_cache(maxsize=4096)  # a routing run offers a whole batch at one `now`
def _business_deadline(offered_at: datetime, hours: float, time_zone: str | None, workday: tuple[float, float],
                       weekdays: tuple[int, ...]) -> datetime:
    if not weekdays or not 0 <= workday[0] < workday[1] <= 24:
        raise ValueError(f"business hours {workday} on days {weekdays} leave no working time")
    tz = zone(time_zone)
    # Working time is the time that passes while the partner's clock reads inside `workday`
    # (9 to 17 is eight hours on the days the clocks change too, as they change at night);
    # the hour the clocks skip is worked by nobody, the one they repeat passes twice.
    start = offered_at.astimezone(UTC)
    local = offered_at.astimezone(tz)
    midnight = datetime(local.year, local.month, local.day)  # wall time
    remaining = timedelta(hours=hours)
    day_length = timedelta(hours=workday[1] - workday[0])
    days = frozenset(weekdays)
    week = day_length * len(days)
    whole = False  # the offer's own day is counted from the offer on
    for _ in range(_DAYS):
        if whole and remaining > week + day_length:  # a whole week at once: same weekdays, same hours
            if tz is UTC:
                skip = (remaining - day_length) // week
                remaining -= week * skip
                midnight += timedelta(weeks=skip)
                continue
            if _steady(tz, midnight):  # no change of the clocks in it
                remaining -= week
                midnight += timedelta(weeks=1)
                continue
        if midnight.weekday() in days:
            opens, closes = _opening(tz, midnight, workday)
            begin = max(start, opens)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        midnight += timedelta(days=1)
        whole = True
    raise ValueError(f"offer window of {hours} hours does not end within ten years")


def reminder_time(deadline: datetime, hours: float, *, business_hours: bool, time_zone: str | None,
                  workday: tuple[float, float] = (9, 17), weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> datetime:
    """When to remind of an offer ending at `deadline`: `hours` before it; with
    `business_hours`, `hours` of working time before it, as its window was counted — a
    deadline early in the working day is reminded of the working day before, not at
    night with an hour left. The answer is UTC."""
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    if not business_hours or hours <= 0:
        return (deadline - timedelta(hours=max(hours, 0.0))).astimezone(UTC)
    return _business_before(deadline, float(hours), time_zone, tuple(workday), tuple(weekdays))


@lru_cache(maxsize=4096)  # a burst's offers share a handful of deadlines
def _business_before(deadline: datetime, hours: float, time_zone: str | None, workday: tuple[float, float],
                     weekdays: tuple[int, ...]) -> datetime:
    if not weekdays or not 0 <= workday[0] < workday[1] <= 24:
        raise ValueError(f"business hours {workday} on days {weekdays} leave no working time")
    tz = zone(time_zone)
    end = deadline.astimezone(UTC)
    local = deadline.astimezone(tz)
    midnight = datetime(local.year, local.month, local.day)  # wall time
    remaining = timedelta(hours=hours)
    day_length = timedelta(hours=workday[1] - workday[0])
    days = frozenset(weekdays)
    week = day_length * len(days)
    whole = False  # the deadline's own day is counted up to the deadline
    for _ in range(_DAYS):
        if whole and remaining > week + day_length:  # this day and the six before it at once
            if tz is UTC:
                skip = (remaining - day_length) // week
                remaining -= week * skip
                midnight -= timedelta(weeks=skip)
                continue
            if _steady(tz, midnight - timedelta(days=6)):
                remaining -= week
                midnight -= timedelta(weeks=1)
                continue
        if midnight.weekday() in days:
            opens, closes = _opening(tz, midnight, workday)
            finish = min(end, closes)
            if finish > opens:
                if remaining <= finish - opens:
                    return finish - remaining
                remaining -= finish - opens
        midnight -= timedelta(days=1)
        whole = True
    raise ValueError(f"{hours} working hours before {deadline} reach back more than ten years")


_DAYS = 3700  # days or weeks looked at: ten years of weeks, and the days the clocks change in them
_TICK = timedelta(microseconds=1)


def _opening(tz: tzinfo, midnight: datetime, workday: tuple[float, float]) -> tuple[datetime, datetime]:
    """When the working day of the date at wall time `midnight` starts and ends, in UTC."""
    return (_first_reading(tz, midnight + timedelta(hours=workday[0])),
            _first_reading(tz, midnight + timedelta(hours=workday[1])))


def _first_reading(tz: tzinfo, wall: datetime) -> datetime:
    """The first moment (UTC) the zone's clock reads `wall` or later: its first pass where
    the clock shows it twice, the moment the clock jumps where it skips it."""
    at = wall.replace(tzinfo=tz).astimezone(UTC)
    if tz is UTC or at.astimezone(tz).replace(tzinfo=None) == wall:
        return at
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # the reading before the jump
    while at - lo > _TICK:
        mid = lo + (at - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= wall:
            at = mid
        else:
            lo = mid
    return at


def _steady(tz: tzinfo, midnight: datetime) -> bool:
    """Whether the zone keeps one offset through the week from wall-time `midnight` (then its
    working time is the nominal week's; the clocks change at most once a week)."""
    return _offset(tz, midnight) == _offset(tz, midnight + timedelta(days=7))


@lru_cache(maxsize=8192)  # the weeks a batch of offers counts through are the same weeks
def _offset(tz: tzinfo, wall: datetime) -> timedelta | None:
    return wall.replace(tzinfo=tz).utcoffset()


# ------------------------------------------------------------------ a partner's working week

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # as `weekdays` numbers them: 0 is Monday
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def day_number(name: str) -> int | None:
    """0 (Monday) … 6 (Sunday) for a day's English name or its first three letters, whatever
    the case ("Sunday", "sun", "SUN"); None for anything else."""
    word = str(name).strip().lower()
    if len(word) >= 3:
        for i, full in enumerate(_FULL):
            if full.startswith(word):
                return i
    return None


@lru_cache(maxsize=256)
def week_of(names: frozenset[str]) -> tuple[int, ...] | None:
    """A partner's working days (Account.Working_Days__c) as `weekdays` numbers, sorted; None
    when it names none, or names one that is no day (its windows then count the org's week,
    and the partner index says which name it did not know)."""
    if not names:
        return None
    days = [day_number(n) for n in names]
    if any(d is None for d in days):
        return None
    return tuple(sorted(set(d for d in days if d is not None)))


def unknown_days(names: frozenset[str]) -> list[str]:
    return sorted(n for n in names if day_number(n) is None)


def week_text(weekdays: tuple[int, ...]) -> str:
    """`(6, 0, 1, 2, 3)` → "Sun Mon Tue Wed Thu": the days in the week's order from its first
    working day after a day off (a Sunday-to-Thursday week reads from Sunday)."""
    days = sorted(set(weekdays))
    if not days:
        return ""
    start = next((d for d in days if (d - 1) % 7 not in days), days[0])
    return " ".join(DAY_NAMES[d] for d in sorted(days, key=lambda d: (d - start) % 7))


def _clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=1024)  # every offer of a run names one of a few calendars
def calendar_text(time_zone: str | None, weekdays: tuple[int, ...], workday: tuple[float, float]) -> str:
    """The calendar an offer's window is counted in, as it is kept with the offer (on the
    Lead, in the state): "Asia/Dubai; Sun Mon Tue Wed Thu; 09:00-17:00"."""
    return f"{time_zone or 'UTC'}; {week_text(weekdays)}; {_clock(workday[0])}-{_clock(workday[1])}"


def parse_calendar(text: str | None) -> tuple[str, tuple[int, ...], tuple[float, float]] | None:
    """`calendar_text` read back: (zone, weekdays sorted, workday); None for anything else
    (an offer made before calendars were kept, a field an admin typed into)."""
    if not text or not isinstance(text, str):
        return None
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != 3:
        return None
    name, days, hours = parts
    week = week_of(frozenset(days.split()))
    bounds = hours.split("-")
    if not name or week is None or len(bounds) != 2 or not known_zone(name):
        return None
    try:
        workday = tuple(int(h) + int(m) / 60 for h, m in (b.split(":") for b in bounds))
    except ValueError:
        return None
    if not 0 <= workday[0] < workday[1] <= 24:
        return None
    return name, week, (workday[0], workday[1])
