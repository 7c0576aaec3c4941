"""Relative date literals: the ranges they name, and how = < <= > >= read a range."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sandbox.clock import Clock
from sandbox.soql import execute
from sandbox.soql.dates import date_range
from sandbox.store import Org

WEDNESDAY = date(2024, 5, 15)  # in Q2, week of Sunday 12 May


@pytest.mark.parametrize(
    ("literal", "n", "start", "end"),
    [
        ("TODAY", None, date(2024, 5, 15), date(2024, 5, 16)),
        ("YESTERDAY", None, date(2024, 5, 14), date(2024, 5, 15)),
        ("TOMORROW", None, date(2024, 5, 16), date(2024, 5, 17)),
        ("LAST_N_DAYS", 1, date(2024, 5, 14), date(2024, 5, 16)),  # includes today
        ("LAST_N_DAYS", 30, date(2024, 4, 15), date(2024, 5, 16)),
        ("NEXT_N_DAYS", 2, date(2024, 5, 16), date(2024, 5, 18)),  # starts tomorrow
        ("N_DAYS_AGO", 3, date(2024, 5, 12), date(2024, 5, 13)),
        ("LAST_90_DAYS", None, date(2024, 2, 15), date(2024, 5, 16)),
        ("THIS_WEEK", None, date(2024, 5, 12), date(2024, 5, 19)),
        ("LAST_WEEK", None, date(2024, 5, 5), date(2024, 5, 12)),
        ("THIS_MONTH", None, date(2024, 5, 1), date(2024, 6, 1)),
        ("LAST_MONTH", None, date(2024, 4, 1), date(2024, 5, 1)),
        ("NEXT_N_MONTHS", 2, date(2024, 6, 1), date(2024, 8, 1)),
        ("THIS_QUARTER", None, date(2024, 4, 1), date(2024, 7, 1)),
        ("LAST_QUARTER", None, date(2024, 1, 1), date(2024, 4, 1)),
        ("NEXT_QUARTER", None, date(2024, 7, 1), date(2024, 10, 1)),
        ("THIS_YEAR", None, date(2024, 1, 1), date(2025, 1, 1)),
        ("LAST_N_YEARS", 2, date(2022, 1, 1), date(2024, 1, 1)),
        ("THIS_FISCAL_QUARTER", None, date(2024, 4, 1), date(2024, 7, 1)),
    ],
)
def test_literal_names_a_half_open_range_of_days(literal, n, start, end):
    assert date_range(literal, n, WEDNESDAY) == (start, end)


def test_quarters_and_months_roll_over_the_year_end():
    assert date_range("NEXT_QUARTER", None, date(2024, 11, 20)) == (date(2025, 1, 1), date(2025, 4, 1))
    assert date_range("LAST_MONTH", None, date(2025, 1, 10)) == (date(2024, 12, 1), date(2025, 1, 1))
    assert date_range("LAST_QUARTER", None, date(2025, 2, 1)) == (date(2024, 10, 1), date(2025, 1, 1))


NOON = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def org() -> Org:
    clock = Clock()
    clock.set(NOON)
    return Org(clock=clock)


def offered(org: Org, when: datetime) -> str:
    return org.create("Lead", {"LastName": "Doe", "Company": "Acme", "Offered_At__c": when})


def ids(org: Org, where: str) -> set[str]:
    return {r["Id"] for r in execute(f"SELECT Id FROM Lead WHERE {where}", org).rows}


def test_datetime_equals_today_covers_the_whole_utc_day(org):
    midnight = offered(org, datetime(2024, 5, 15, 0, 0, tzinfo=timezone.utc))
    last_ms = offered(org, datetime(2024, 5, 15, 23, 59, 59, 999000, tzinfo=timezone.utc))
    tomorrow = offered(org, datetime(2024, 5, 16, 0, 0, tzinfo=timezone.utc))
    yesterday = offered(org, datetime(2024, 5, 14, 23, 0, tzinfo=timezone.utc))
    never = org.create("Lead", {"LastName": "Doe", "Company": "Acme"})
    assert ids(org, "Offered_At__c = TODAY") == {midnight, last_ms}
    assert ids(org, "Offered_At__c != TODAY") == {tomorrow, yesterday, never}  # != keeps nulls
    assert ids(org, "Offered_At__c > TODAY") == {tomorrow}  # after the range
    assert ids(org, "Offered_At__c >= TODAY") == {midnight, last_ms, tomorrow}
    assert ids(org, "Offered_At__c < TODAY") == {yesterday}  # before the range
    assert ids(org, "Offered_At__c <= TODAY") == {yesterday, midnight, last_ms}
    assert ids(org, "Offered_At__c = YESTERDAY") == {yesterday}


def test_date_fields_use_the_same_ranges(org):
    def closing(d: date) -> str:
        return org.create("Lead", {"LastName": "Doe", "Company": "Acme", "Expected_Close_Date__c": d})

    march, april, june, july = (closing(date(2024, m, 10)) for m in (3, 4, 6, 7))
    assert ids(org, "Expected_Close_Date__c = THIS_QUARTER") == {april, june}
    assert ids(org, "Expected_Close_Date__c = LAST_QUARTER") == {march}
    assert ids(org, "Expected_Close_Date__c >= NEXT_QUARTER") == {july}
    assert ids(org, "Expected_Close_Date__c IN (LAST_QUARTER, NEXT_QUARTER)") == {march, july}


def test_last_n_days_includes_today_and_follows_the_org_clock(org):
    two_days_ago = offered(org, NOON - timedelta(days=2))
    now = offered(org, NOON)
    assert ids(org, "Offered_At__c = LAST_N_DAYS:1") == {now}
    assert ids(org, "Offered_At__c = LAST_N_DAYS:2") == {two_days_ago, now}
    org.clock.advance(timedelta(days=1))
    assert ids(org, "Offered_At__c = LAST_N_DAYS:1") == {now}
    assert ids(org, "Offered_At__c = TODAY") == set()
