"""ORDER BY, LIMIT, OFFSET and COUNT(): which rows, in which order, how many."""
from __future__ import annotations

import pytest

from sandbox.soql import execute
from sandbox.store import Org


@pytest.fixture
def org() -> Org:
    return Org()


def lead(org: Org, **fields) -> str:
    fields.setdefault("LastName", "Doe")
    fields.setdefault("Company", "Acme")
    return org.create("Lead", fields)


def order(org: Org, soql: str) -> list[str]:
    return [r["Id"] for r in execute(soql, org).rows]


def test_ascending_puts_nulls_first_by_default(org):
    b, none, a = lead(org, City="Berlin"), lead(org), lead(org, City="Amsterdam")
    assert order(org, "SELECT Id FROM Lead ORDER BY City") == [none, a, b]
    assert order(org, "SELECT Id FROM Lead ORDER BY City ASC NULLS LAST") == [a, b, none]


def test_descending_still_puts_nulls_first_unless_told_otherwise(org):
    b, none, a = lead(org, City="Berlin"), lead(org), lead(org, City="Amsterdam")
    assert order(org, "SELECT Id FROM Lead ORDER BY City DESC") == [none, b, a]
    assert order(org, "SELECT Id FROM Lead ORDER BY City DESC NULLS LAST") == [b, a, none]
    assert order(org, "SELECT Id FROM Lead ORDER BY City DESC NULLS FIRST") == [none, b, a]


def test_text_sorts_case_insensitively(org):
    upper, lower, mid = lead(org, Company="Zulu"), lead(org, Company="alpha"), lead(org, Company="Mike")
    assert order(org, "SELECT Id FROM Lead ORDER BY Company") == [lower, mid, upper]


def test_picklists_sort_in_their_defined_order_not_alphabetically(org):
    # Rating is defined Hot, Warm, Cold
    cold, hot, warm = lead(org, Rating="Cold"), lead(org, Rating="Hot"), lead(org, Rating="Warm")
    assert order(org, "SELECT Id FROM Lead ORDER BY Rating") == [hot, warm, cold]


def test_several_keys_with_mixed_directions(org):
    us_b = lead(org, Country="US", Company="Beta")
    de_a = lead(org, Country="DE", Company="Alpha")
    us_a = lead(org, Country="US", Company="Alpha")
    de_b = lead(org, Country="DE", Company="Beta")
    assert order(org, "SELECT Id FROM Lead ORDER BY Country DESC, Company ASC") == [us_a, us_b, de_a, de_b]
    assert order(org, "SELECT Id FROM Lead ORDER BY Country, Company DESC") == [de_b, de_a, us_b, us_a]


def test_numbers_sort_numerically(org):
    ten, two, hundred = lead(org, Deal_Amount__c=10), lead(org, Deal_Amount__c=2), lead(org, Deal_Amount__c=100)
    assert order(org, "SELECT Id FROM Lead ORDER BY Deal_Amount__c DESC") == [hundred, ten, two]


def test_order_by_a_parent_field(org):
    zed = org.create("Account", {"Name": "Zed Partners", "IsPartner": True})
    abc = org.create("Account", {"Name": "ABC Partners", "IsPartner": True})
    to_zed, to_abc, orphan = lead(org, PartnerAccountId=zed), lead(org, PartnerAccountId=abc), lead(org)
    assert order(org, "SELECT Id FROM Lead ORDER BY PartnerAccount.Name NULLS LAST") == [to_abc, to_zed, orphan]


def test_order_by_system_modstamp_then_id_is_the_write_order(org):
    made = [lead(org) for _ in range(5)]
    assert order(org, "SELECT Id FROM Lead ORDER BY SystemModstamp, Id") == made


def test_limit_and_offset_slice_the_ordered_rows(org):
    made = [lead(org, LastName=f"L{i:02d}") for i in range(10)]
    assert order(org, "SELECT Id FROM Lead ORDER BY LastName LIMIT 3") == made[:3]
    assert order(org, "SELECT Id FROM Lead ORDER BY LastName LIMIT 3 OFFSET 4") == made[4:7]
    assert order(org, "SELECT Id FROM Lead ORDER BY LastName OFFSET 8") == made[8:]
    assert order(org, "SELECT Id FROM Lead ORDER BY LastName OFFSET 20") == []


def test_limit_without_order_by_returns_that_many_matches(org):
    for i in range(6):
        lead(org, Country="US" if i % 2 else "DE")
    result = execute("SELECT Id, Country FROM Lead WHERE Country = 'US' LIMIT 2", org)
    assert result.total_size == 2 and all(r["Country"] == "US" for r in result.rows)


def test_total_size_counts_rows_after_limit(org):
    for _ in range(4):
        lead(org)
    assert execute("SELECT Id FROM Lead", org).total_size == 4
    assert execute("SELECT Id FROM Lead LIMIT 3", org).total_size == 3


def test_count_returns_the_number_of_matches_and_no_rows(org):
    for country in ("US", "US", "DE"):
        lead(org, Country=country)
    result = execute("SELECT COUNT() FROM Lead WHERE Country = 'US'", org)
    assert result.is_count and result.total_size == 2 and list(result.rows) == []
    assert execute("select count() from Lead", org).total_size == 3
    assert execute("SELECT COUNT() FROM Lead LIMIT 1", org).total_size == 1


def test_rows_are_the_stores_own_records_not_copies(org):
    a = lead(org)
    (row,) = execute(f"SELECT Id FROM Lead WHERE Id = '{a}'", org).rows
    assert row is org.get("Lead", a)


def test_count_ignores_order_by(org):
    for city in ("B", None, "A"):
        lead(org, City=city)
    assert execute("SELECT COUNT() FROM Lead WHERE City != null ORDER BY City", org).total_size == 2


def test_three_keys_break_ties_left_to_right(org):
    c = lead(org, Country="US", Company="Acme", LastName="Cole")
    a = lead(org, Country="US", Company="Acme", LastName="Abel")
    d = lead(org, Country="DE", Company="Zeta", LastName="Diaz")
    b = lead(org, Country="US", Company="Beta", LastName="Abel")
    assert order(org, "SELECT Id FROM Lead ORDER BY Country, Company, LastName") == [d, a, c, b]
    assert order(org, "SELECT Id FROM Lead ORDER BY Country DESC, Company DESC, LastName DESC") == [b, c, a, d]
