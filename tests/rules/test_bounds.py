"""Rules that cannot hang: regexes on RE2, bounded conditions and files, limits above zero."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from rules import load_rules
from rules.bounded import MAX_NESTING, MAX_OPERATORS, MAX_RULE_FILE_BYTES
from rules.errors import RulesError
from rules.expressions import Compiler, ExpressionError, schema_of, time_values
from rules.model import Lead

LEADS = Compiler(schema_of(Lead))
TV = time_values(datetime(2026, 11, 23, 10, tzinfo=timezone.utc))
EVIL = "a" * 30 + "!"  # (a+)+$ against this backtracks 2^30 times in Python's re

RULES = '''
[settings]
escalation_queue = "Channel_Escalations"
{settings}

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Everyone"
  when = {when}
'''


def rules(when: str = '"true"', settings: str = "") -> str:
    return RULES.format(when=when, settings=settings)


def problems(text: str) -> list:
    with pytest.raises(RulesError) as err:
        load_rules(text=text, path="rules.toml")
    return err.value.problems


def test_catastrophic_pattern_answers_at_once_on_both_evaluation_paths():
    cond = LEADS.compile('company =~ "(a+)+$"')
    lead = Lead(id="00Q1", company=EVIL)
    started = time.perf_counter()
    assert cond.matches(lead, TV) is False
    assert cond.matches_interpreted(lead, TV) is False
    assert time.perf_counter() - started < 1.0  # Python's re: minutes


def test_regex_operators_keep_their_meaning_on_re2():
    acme = Lead(id="00Q1", company="Acme Corp")
    for text, expected in [('company =~ "Acme"', True), ('company =~ "Corp"', False),  # =~ anchors at the start
                           ('company =~~ "Corp"', True), ('company !~ "Acme"', False),
                           ('company !~~ "Globex"', True), ('company =~ "(?i)acme"', True)]:
        cond = LEADS.compile(text)
        assert cond.matches(acme, TV) is expected, text
        assert cond.matches_interpreted(acme, TV) is expected, text


@pytest.mark.parametrize("pattern, what", [(r"(a)\\1", "\\1"), ("(?=a)b", "(?="), ("(?<!x)a", "(?<!")])
def test_pattern_re2_cannot_run_is_refused_at_load_naming_the_rule_and_the_fix(pattern, what):
    text = rules(when=f"'company =~ \"{pattern}\"'")
    (p,) = problems(text)
    assert p.key == "ruleset[1].rule[1].when" and p.line == 11
    assert "'Everyone'" in p.message and what in p.message
    assert "backreferences" in p.fix and "lookaround" in p.fix


def test_two_thousand_chained_ands_give_a_message_not_a_recursion_error():
    chain = " and ".join(['rating == "Hot"'] * 2000)
    (p,) = problems(rules(when=f"'{chain}'"))
    assert "'Everyone'" in p.message and f"the limit is {MAX_OPERATORS}" in p.message
    assert "split it" in p.fix


def test_a_long_arithmetic_chain_is_refused_too_not_left_to_overflow_when_a_lead_is_decided():
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_OPERATORS}"):
        LEADS.compile(" + ".join(["amount"] * 3000) + " > 1")
    LEADS.compile("amount * 2 - employees / 3 > 1e-5 and rating != \"Cold\"")  # signs in numbers, != are not joins


def test_conditions_up_to_the_limits_still_compile():
    LEADS.compile(" and ".join(['rating == "Hot"'] * (MAX_OPERATORS + 1)))
    LEADS.compile("(" * MAX_NESTING + 'rating == "Hot"' + ")" * MAX_NESTING)
    with pytest.raises(ExpressionError, match="nests brackets"):
        LEADS.compile("(" * (MAX_NESTING + 1) + 'rating == "Hot"' + ")" * (MAX_NESTING + 1))


def test_operators_inside_quoted_text_do_not_count():
    LEADS.compile(f'company == "{" and " * 200}"')


def test_oversized_rule_file_is_refused_before_it_is_parsed(tmp_path):
    big = tmp_path / "rules.toml"
    big.write_text(rules() + "#" * (6_500_000), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(RulesError) as err:
        load_rules(big)
    assert time.perf_counter() - started < 1.0
    (p,) = err.value.problems
    assert p.file == str(big) and f"{MAX_RULE_FILE_BYTES // 1024} KiB limit" in p.message and p.fix


def test_a_file_just_under_the_limit_loads(tmp_path):
    text = rules()
    path = tmp_path / "rules.toml"
    path.write_text(text + "#" * (MAX_RULE_FILE_BYTES - len(text.encode()) - 1) + "\n", encoding="utf-8")
    assert load_rules(path).rulesets


@pytest.mark.parametrize("setting", ["max_open_offers = -5", "max_offers_per_day = 0"])
def test_caps_of_zero_or_less_are_refused_with_line_and_fix(setting):
    (p,) = problems(rules(settings=setting))
    assert p.key == f"settings.{setting.split()[0]}" and p.line == 4
    assert "at least 1" in p.message and "leave the key out" in p.fix


@pytest.mark.parametrize("weight", ["0", "-1.5"])
def test_tier_weights_of_zero_or_less_are_refused_at_their_line(weight):
    text = rules(settings=f"\n[settings.tier_weights]\nGold = {weight}")
    (p,) = problems(text)
    assert p.key == "settings.tier_weights.Gold" and p.line == 6 and "above 0" in p.message


def test_partner_record_with_negative_capacity_is_warned_about_and_takes_no_offers():
    from mappings import load_mappings

    warned: list[tuple[str, str]] = []
    convert = load_mappings().partner_converter(lambda rid, why: warned.append((rid, why)))
    p = convert({"Id": "001000000000001AAA", "Name": "Acme Partners", "Capacity__c": -5,
                 "Daily_Cap__c": 3, "Routing_Weight__c": -2.0})
    assert (p.capacity, p.daily_cap, p.weight) == (0, 3, 0.0)
    assert [rid for rid, _ in warned] == ["001000000000001AAA"] * 2
    capacity, weight = (why for _, why in warned)
    assert "'Acme Partners'" in capacity and "Capacity__c is -5" in capacity and "no new offers" in capacity
    assert "Routing_Weight__c is -2" in weight


def test_partner_record_with_sound_limits_is_not_warned_about():
    from mappings import load_mappings

    warned: list = []
    convert = load_mappings().partner_converter(lambda rid, why: warned.append(why))
    p = convert({"Id": "001000000000001AAA", "Name": "Acme Partners", "Capacity__c": 5, "Routing_Weight__c": 0.5})
    assert (p.capacity, p.weight, warned) == (5, 0.5, [])


@pytest.mark.parametrize("when, written", [("amount / 0 > 5", "amount / 0"), ("amount // (1 - 1) > 5", "amount // 0"),
                                           ("amount % 0.0 > 1", "amount % 0"), ("amount > 1 / 0", "")])
def test_a_division_by_a_constant_zero_is_refused_at_load_with_its_place(when, written):
    """It errs for every lead, so the condition could never hold (a gate would stop every lead)."""
    (p,) = problems(rules(when=f"'{when}'"))
    assert p.key == "ruleset[1].rule[1].when" and p.line == 11
    assert "'Everyone'" in p.message and "division by zero" in p.message and written in p.message
    assert "other than 0" in p.fix and "quotes" not in p.fix


def test_a_number_too_large_to_compute_is_named_as_such_not_as_a_matter_of_quotes():
    (p,) = problems(rules(when="'amount < 10.0 ** 4000000'"))
    assert p.line == 11 and "too large" in p.message and "overflow" in p.message
    assert "quotes" not in p.fix


def test_a_large_number_that_can_be_computed_still_compares():
    cond = LEADS.compile("amount < 10.0 ** 400")
    assert cond.matches(Lead(id="00Q1", amount=5e300), TV)


def test_a_condition_that_errs_on_a_lead_says_why_and_a_missing_value_is_no_error():
    cond = LEADS.compile("amount / (amount - amount) > 5")
    assert cond.evaluation_error(Lead(id="00Q1", amount=5.0), TV) == "arithmetic error: division by zero"
    assert cond.evaluation_error(Lead(id="00Q2"), TV) is None and not cond.holds_values(Lead(id="00Q2"), TV)
    assert LEADS.compile("amount > 5").evaluation_error(Lead(id="00Q1", amount=5.0), TV) is None
