"""Conditions in rule-engine's typed language: checked at load, evaluated fast, same answers."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from rules.expressions import Compiler, ExpressionError, schema_of, time_values
from rules.model import Lead, Partner

NOW = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
TV = time_values(NOW)
LEADS = Compiler(schema_of(Lead))

EXPRESSIONS = [
    'rating == "Hot" and amount >= 50000 and close_date <= quarter_end',
    '"Cloud Migration" in products',
    'source in ["Partner Referral", "Trade Show"]',
    "employees >= 1000",
    "not do_not_route and company != null",
    'amount == null or amount < 10000',
    "(amount ?? 0) > 5",
    'industry =~ "Tech.*"',
    'country in ["US", "CA"] and not (state == "US-CA")',
    "products & {'Analytics', 'Networking'}",
    "close_date >= today and close_date <= year_end",
    "attempt > 1 or converted",
    'company =~~ "acme"',
    "amount * 2 > 100000",
    "employees == 1000 or employees != 20",
    "employees in [10, 100, 1000]",
    'rating != "Cold" and not (source == null)',
    "do_not_route == false",
]


def test_quarter_symbols_follow_the_time_passed_in():
    assert TV["quarter_start"] == datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert TV["quarter_end"].date() == date(2026, 12, 31)
    assert time_values(datetime(2027, 2, 3, tzinfo=timezone.utc))["quarter_end"].date() == date(2027, 3, 31)


def test_typo_is_caught_when_compiling_with_the_nearest_name():
    with pytest.raises(ExpressionError) as err:
        LEADS.compile('industy == "Banking"')
    assert "'industry'" in err.value.fix


def test_comparing_text_with_a_number_is_caught_when_compiling():
    with pytest.raises(ExpressionError):
        LEADS.compile('amount >= "lots"')


def test_missing_value_makes_the_condition_not_match_instead_of_failing():
    cond = LEADS.compile("amount >= 50000")
    assert cond.matches(Lead(id="x"), TV) is False
    assert LEADS.compile("amount == null or amount < 10").matches(Lead(id="x"), TV) is True


@pytest.mark.parametrize("text", ["products != null", "products == null", "null != products",
                                  'rating == "Hot" and not (products == null)'])
def test_a_set_compared_with_null_is_refused_with_is_empty_as_the_fix(text):
    """A lead without products has the empty set, never null: `products != null` held for
    every lead and `products == null` for none, silently."""
    with pytest.raises(ExpressionError) as err:
        LEADS.compile(text)
    assert "products" in str(err.value) and "is_empty" in err.value.fix
    assert LEADS.compile("not products.is_empty").matches(Lead(id="x"), TV) is False
    assert LEADS.compile("products.is_empty").matches(Lead(id="x"), TV) is True


def test_partner_conditions_see_partner_attributes():
    cond = Compiler(schema_of(Partner), with_time=False).compile('tier == "Gold" and enterprise_team')
    assert cond.matches(Partner(id="p", name="n", tier="Gold", enterprise_team=True), {})
    assert not cond.matches(Partner(id="p", name="n", tier="Gold"), {})


leads = st.builds(
    Lead, id=st.just("00Q1"),
    rating=st.sampled_from(["Hot", "Warm", None]), amount=st.one_of(st.none(), st.floats(0, 1e6)),
    close_date=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
    products=st.frozensets(st.sampled_from(["Cloud Migration", "Analytics", "Networking"])),
    source=st.sampled_from(["Web", "Trade Show", "Partner Referral", None]),
    employees=st.one_of(st.none(), st.integers(0, 10_000), st.sampled_from([10, 20, 1000])),
    do_not_route=st.booleans(),
    company=st.sampled_from(["Acme", "ACME corp", None, ""]), industry=st.sampled_from(["Technology", "Banking", None]),
    country=st.sampled_from(["US", "CA", "DE", None]), state=st.sampled_from(["US-CA", "US-NY", None]),
    attempt=st.integers(0, 3), converted=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(leads)
def test_fast_evaluation_agrees_with_rule_engines_own(lead):
    for text in EXPRESSIONS:
        cond = LEADS.compile(text)
        assert cond.matches(lead, TV) == cond.matches_interpreted(lead, TV), text
