"""SOQL relative date literals (TODAY, LAST_N_DAYS:n, THIS_QUARTER, ...) as date ranges.

Each literal names a half-open range [start, end) of whole days, evaluated against the
org clock in UTC (the sandbox's users all have a UTC locale). Weeks start on Sunday
as in the en_US locale; the FISCAL variants follow the org's standard fiscal year, which
starts in Organization.FiscalYearStartMonth (January by default: then they equal the
calendar ones; custom fiscal years, Period rows, are not applied). Ranges follow
Salesforce's table:
LAST_N_DAYS:n includes today (LAST_N_DAYS:1 = yesterday and today), NEXT_N_DAYS:n
starts tomorrow.
"""
from __future__ import annotations

from datetime import date, timedelta

Range = tuple[date, date]


def _add_months(d: date, months: int) -> date:
    """First day of the month `months` after d's month."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _week_start(d: date) -> date:
    return d - timedelta(days=(d.weekday() + 1) % 7)  # Sunday


def _quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


def fiscal_year_start(d: date, start_month: int) -> date:
    """The first day of the fiscal year holding `d`, in an org whose year starts in `start_month`."""
    return date(d.year if d.month >= start_month else d.year - 1, start_month, 1)


def _unit_starts(unit: str, fiscal_start: int = 1):
    """(start of the current period, function shifting a period start by k periods)."""
    if unit == "FISCAL_QUARTER":
        def quarter(t: date) -> date:
            year = fiscal_year_start(t, fiscal_start)
            return _add_months(year, (t.year * 12 + t.month - year.year * 12 - year.month) // 3 * 3)

        return quarter, (lambda s, k: _add_months(s, 3 * k))
    if unit == "FISCAL_YEAR":
        return (lambda t: fiscal_year_start(t, fiscal_start)), (lambda s, k: _add_months(s, 12 * k))
    if unit == "DAY":
        return (lambda t: t), (lambda s, k: s + timedelta(days=k))
    if unit == "WEEK":
        return _week_start, (lambda s, k: s + timedelta(days=7 * k))
    if unit == "MONTH":
        return (lambda t: t.replace(day=1)), _add_months
    if unit == "QUARTER":
        return _quarter_start, (lambda s, k: _add_months(s, 3 * k))
    return (lambda t: date(t.year, 1, 1)), (lambda s, k: _add_months(s, 12 * k))


_UNITS = {"DAYS": "DAY", "WEEKS": "WEEK", "MONTHS": "MONTH", "QUARTERS": "QUARTER", "YEARS": "YEAR",
          "FISCAL_QUARTERS": "FISCAL_QUARTER", "FISCAL_YEARS": "FISCAL_YEAR"}  # fmt: skip
_SINGLE = {"WEEK": "WEEK", "MONTH": "MONTH", "QUARTER": "QUARTER", "YEAR": "YEAR",
           "FISCAL_QUARTER": "FISCAL_QUARTER", "FISCAL_YEAR": "FISCAL_YEAR"}  # fmt: skip


def _shape(word: str) -> tuple[str, str] | None:
    """Classify a literal: (form, unit) where form is one of fixed/this/last/next/lastn/nextn/ago."""
    if word in ("TODAY", "YESTERDAY", "TOMORROW"):
        return "fixed", "DAY"
    if word in ("LAST_90_DAYS", "NEXT_90_DAYS"):
        return "fixed", "DAY"
    for prefix, form in (("THIS_", "this"), ("LAST_", "last"), ("NEXT_", "next")):
        if word.startswith(prefix) and word[len(prefix) :] in _SINGLE:
            return form, _SINGLE[word[len(prefix) :]]
    for prefix, form in (("LAST_N_", "lastn"), ("NEXT_N_", "nextn")):
        if word.startswith(prefix) and word[len(prefix) :] in _UNITS:
            return form, _UNITS[word[len(prefix) :]]
    if word.startswith("N_") and word.endswith("_AGO") and word[2:-4] in _UNITS:
        return "ago", _UNITS[word[2:-4]]
    return None


def is_unknown(word: str) -> bool:
    return _shape(word) is None


def check(word: str, n: int | None) -> str | None:
    """Why `word[:n]` is not a date literal Salesforce accepts, or None when it is."""
    shape = _shape(word)
    if shape is None:
        return f"unexpected token: '{word}'"
    takes_n = shape[0] in ("lastn", "nextn", "ago")
    if takes_n and n is None:
        return f"date literal {word} needs a number, e.g. {word}:7"
    if not takes_n and n is not None:
        return f"date literal {word} takes no number; remove ':{n}'"
    return None


def date_range(word: str, n: int | None, today: date, fiscal_start: int = 1) -> Range:
    """The [start, end) days `word` (with `n` for the _N_ forms) covers on `today`, in an
    org whose fiscal year starts in month `fiscal_start`."""
    day = timedelta(days=1)
    if word == "TODAY":
        return today, today + day
    if word == "YESTERDAY":
        return today - day, today
    if word == "TOMORROW":
        return today + day, today + 2 * day
    if word == "LAST_90_DAYS":
        return date_range("LAST_N_DAYS", 90, today)
    if word == "NEXT_90_DAYS":
        return date_range("NEXT_N_DAYS", 90, today)
    shape = _shape(word)
    if shape is None:
        raise ValueError(f"not a date literal: {word}")
    form, unit = shape
    start_of, shift = _unit_starts(unit, fiscal_start)
    current = start_of(today)
    if unit == "DAY":
        # the day forms are anchored on today itself, and LAST_N_DAYS includes it
        if form == "lastn":
            return today - n * day, today + day
        if form == "nextn":
            return today + day, today + (n + 1) * day
        return today - n * day, today - (n - 1) * day  # ago
    if form == "this":
        return current, shift(current, 1)
    if form == "last":
        return shift(current, -1), current
    if form == "next":
        return shift(current, 1), shift(current, 2)
    if form == "lastn":
        return shift(current, -n), current
    if form == "nextn":
        return shift(current, 1), shift(current, n + 1)
    return shift(current, -n), shift(current, -n + 1)  # ago
