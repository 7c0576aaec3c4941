"""Numbers in a rule file that TOML accepts and routing cannot use (nan, inf, 1e308,
a score above 100): refused at load with the key, its line and the fix — before they
reach the offer deadline, the fuzzy match or a radius at routing time, where they were
an exception out of every decision (dry-run, validate, the route job)."""
from __future__ import annotations

import pytest

from rules import load_rules
from rules.errors import RulesError

RULES = '''
[settings]
escalation_queue = "Channel_Escalations"
{settings}

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Everyone"
  match = {{ geography = true{match} }}
{rule}
'''


def text(settings: str = "", rule: str = "", match: str = "") -> str:
    return RULES.format(settings=settings, rule=rule, match=match)


def refused(source: str, key: str) -> str:
    with pytest.raises(RulesError) as err:
        load_rules(text=source, path="rules.toml")
    hits = [p for p in err.value.problems if p.key.endswith(key) and p.severity == "error"]
    assert hits, f"no error at {key}: {err.value}"
    assert hits[0].line, f"the error at {key} names no line: {hits[0]}"
    return f"{hits[0].message} {hits[0].fix or ''}"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "99999999999999999999", "1e6"])
def test_an_offer_window_routing_cannot_count_is_refused(value):
    refused(text(settings=f"offer_hours = {value}"), "settings.offer_hours")
    refused(text(rule=f"  offer_hours = {value}"), "rule[1].offer_hours")
    refused(text(rule=f"  offer_hours = {value}\n  business_hours = false"), "rule[1].offer_hours")


def test_an_offer_window_past_ten_years_names_the_value_and_the_limit():
    said = refused(text(settings="offer_hours = 87649"), "settings.offer_hours")
    assert "87649" in said and "ten years" in said and "e.g. 48" in said
    load_rules(text=text(settings="offer_hours = 87648\nweekdays = [0]\nworkday = [9, 10]"), path="rules.toml")


def test_a_long_but_countable_offer_window_loads():
    book = load_rules(text=text(settings="offer_hours = 720", rule="  offer_hours = 2000\n  business_hours = false"),
                      path="rules.toml")
    assert book.rulesets[0].rules[0].offer_hours == 2000


@pytest.mark.parametrize("value", ["nan", "inf", "101", "-1"])
def test_a_deal_registration_score_outside_0_to_100_is_refused(value):
    said = refused(text(settings=f"deal_registration_min_score = {value}"), "settings.deal_registration_min_score")
    assert "100" in said or "finite" in said


@pytest.mark.parametrize("key, value", [("within_km", "nan"), ("within_km", "inf"), ("widen_km", "[nan]"),
                                        ("widen_km", "[inf]")])
def test_a_radius_that_is_not_a_finite_number_is_refused(key, value):
    extra = "" if key == "within_km" else ", within_km = 50"
    refused(text(match=f", {key} = {value}{extra}"), f"match.{key}")


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_tier_weight_that_is_not_a_finite_number_is_refused(value):
    refused(text(settings=f"[settings.tier_weights]\nGold = {value}"), "settings.tier_weights.Gold")


@pytest.mark.parametrize("key", ["best_fit_floor", "fairness_floor", "accept_weight", "claim_prior",
                                 "capacity_price", "answers_half_life_days"])
def test_not_a_number_in_a_setting_is_refused(key):
    refused(text(settings=f"{key} = nan"), f"settings.{key}")
