"""A lead nobody takes says why: the criterion that removed the last partners, and the
lead's own value — in the reason an admin reads on the Lead, with the rule named."""
from __future__ import annotations

import pytest

from rules import RoutingState
from rules.explain import REASON_MAX
from rules.model import DecisionKind

from tests.rules.conftest import NOW, lead, partner, router_for

PRODUCTS_APAC = """
[settings]
fallback_queue = "Unassigned_Partner_Leads"

[territories]
APAC = ["AU", "JP", "IN", "SG"]

[[ruleset]]
name = "All leads"
otherwise = "Unassigned_Partner_Leads"

  [[ruleset.rule]]
  name = "Japan specialist"
  match = { geography = true }
  when = 'country == "JP"'
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "APAC product specialist"
  match = { territories = ["APAC"], products = "all" }
  distribute = "round_robin"
"""


def test_fallback_reason_names_the_criterion_and_the_value_that_left_nobody():
    apac = [partner(f"001AU{i}", coverage=("AU",), products=frozenset({"Analytics"})) for i in range(3)]
    router = router_for(PRODUCTS_APAC, apac)
    d = router.decide(lead(country="JP", state=None, postal_code=None, products=frozenset({"Security Suite"})),
                      RoutingState(), NOW)
    assert d.kind is DecisionKind.FALLBACK
    assert d.reason.startswith("Fallback queue Unassigned_Partner_Leads: no partner covers JP; "
                               '3 partners qualify but not "Security Suite"')
    assert d.rule == "APAC product specialist", "Routing_Rule__c names the rule that came last"
    assert len(d.reason) <= REASON_MAX


def test_one_partner_left_reads_in_the_singular():
    router = router_for(PRODUCTS_APAC.replace('territories = ["APAC"], ', "geography = true, "),
                        [partner("001AU", coverage=("AU",), products=frozenset({"Analytics"}))])
    d = router.decide(lead(country="AU", state=None, postal_code=None, products=frozenset({"Security Suite"})),
                      RoutingState(), NOW)
    assert d.reason == ('Fallback queue Unassigned_Partner_Leads: 1 covers AU but not "Security Suite" '
                        '(rule set "All leads")')


def test_partners_that_match_but_are_all_out_are_counted_by_why():
    partners = [partner("001A", coverage=("JP",), paused=True), partner("001B", coverage=("JP",), reps=0)]
    router = router_for(PRODUCTS_APAC, partners)
    d = router.decide(lead(country="JP", state=None, postal_code=None, products=frozenset({"Analytics"})),
                      RoutingState(), NOW)
    assert "2 partners matched but none is eligible (" in d.reason
    assert "1 paused" in d.reason and "1 no active rep" in d.reason


def test_no_rule_applying_says_so_and_still_names_a_rule():
    text = PRODUCTS_APAC.replace('match = { territories = ["APAC"], products = "all" }',
                                 'match = { territories = ["APAC"], products = "all" }\n  when = "amount > 1"')
    router = router_for(text, [partner("001A")])
    d = router.decide(lead(country="DE", state=None, postal_code=None), RoutingState(), NOW)
    assert 'no rule of "All leads" applies to this lead' in d.reason or "lead outside APAC" in d.reason
    assert d.rule is not None


def test_a_reason_stays_within_the_field_however_many_rules_failed():
    territories = "".join(f'Region{i} = ["AU"]\n' for i in range(30))
    rules = PRODUCTS_APAC.replace('APAC = ["AU", "JP", "IN", "SG"]\n', 'APAC = ["AU", "JP", "IN", "SG"]\n' + territories)
    rules += "".join(f"""
  [[ruleset.rule]]
  name = "Specialist {i}"
  match = {{ geography = true, territories = ["Region{i}"], products = "all" }}
  distribute = "round_robin"
""" for i in range(30))
    router = router_for(rules, [partner("001AU", coverage=("AU",))])
    d = router.decide(lead(country="AU", state=None, postal_code=None, products=frozenset({"Security Suite"})),
                      RoutingState(), NOW)
    assert '1 covers Region0 but not "Security Suite"; 1 covers Region1' in d.reason
    assert len(d.reason) == REASON_MAX and d.reason.endswith("…")


def test_an_unrecognised_country_is_shown_as_written_not_as_missing():
    from mappings import load_mappings

    convert = load_mappings(None).lead_converter()
    record = {"Id": "00Q000000000001AAA", "Company": "Acme", "LastName": "Lee", "Country": "Atlantis",
              "Status": "Open - Not Contacted"}
    atlantis = convert(record)
    router = router_for(None, [partner("001A")])
    d = router.decide(atlantis, RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE
    assert d.reason == 'Country: "Atlantis" is not a recognised country'
    nowhere = convert({**record, "Country": None})
    assert router.decide(nowhere, RoutingState(), NOW).reason == "Country: missing or not a recognised country"


def test_a_lead_stopped_at_the_gate_says_so_in_the_rule_field_too():
    router = router_for(None, [partner("001A")])
    d = router.decide(lead(company=None), RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and d.reason == "Company: missing" and d.rule == "Gate check"


def test_the_funnel_counts_the_partners_left_after_each_criterion():
    apac = [partner(f"001AU{i}", coverage=("AU",), products=frozenset({"Analytics"})) for i in range(3)]
    router = router_for(PRODUCTS_APAC, apac + [partner("001US")])
    jp = lead(country="AU", state=None, postal_code=None, products=frozenset({"Security Suite"}))
    assert router.funnel(jp, "APAC product specialist") == [
        ("admitted by the rule's partner conditions", 4), ('sell "Security Suite"', 0)]
    assert router.funnel(jp, "no such rule") == []


BY_COUNTRY = """
[settings]
fallback_queue = "Unassigned_Partner_Leads"

[[ruleset]]
name = "Japan"
when = 'country == "JP"'

  [[ruleset.rule]]
  name = "Japan partners"
  match = { geography = true }
  distribute = "round_robin"
"""


def test_no_rule_set_for_a_lead_whose_value_could_not_be_read_names_that_value():
    """An org without a country gate, whose rule sets go by country: a lead from a web form
    with "Atlantis" in Country was Unroutable because "no rule set applies", not because
    its country could not be read."""
    router = router_for(BY_COUNTRY, [partner("001JP", coverage=("JP",))])
    unread = lead(country=None, state=None, postal_code=None,
                  extra={"dropped_values": {"country": 'Country: "Atlantis" is not a recognised country'}})
    d = router.decide(unread, RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE
    assert "no rule set applies" in d.reason and '"Atlantis" is not a recognised country' in d.reason, d.reason
    plain = router.decide(lead(country="FR", state=None, postal_code=None), RoutingState(), NOW)
    assert plain.reason == "Rules: no rule set applies to this lead", plain.reason


def test_each_gate_check_blames_only_a_value_it_reads():
    """The status check was blamed on an unreadable Country: every condition of a rule file
    was said to read every name read before it in the file."""
    router = router_for(None, [partner("001A")])
    closed = lead(country=None, state=None, postal_code=None, status="Closed - Converted",
                  extra={"dropped_values": {"country": 'Country: "Atlantis" is not a recognised country'}})
    d = router.decide(closed, RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE
    country, status = d.reason.split("; ")[:2]
    assert country == 'Country: "Atlantis" is not a recognised country', d.reason
    assert status.startswith("Status:") and "Atlantis" not in status, d.reason


NO_NAME = ["---", "...", "?!", "- . -", "   ", "\u200b", "\u200b\u200f\u200e", "\ufeff", "\u00a0\u3000",
           "«»", "「」", "¿¡", "\u202e-\u202c", "\u00ad", "_"]
NAMES = ["🚀", "🚀 Rocket GmbH 🇩🇪", "Acme\u200b\u200dCorp\ufeff", "\u202eexe.Acme\u202c Ltd", "شركة النور",
         "O'Brien \"Ltd\" ' OR Id != null --", "x" * 100_000, "3M", "Café", "Cafe\u0301", "A.", "$$$", "旧金山商事",
         "Acme\x00Corp"]


@pytest.mark.parametrize("company", NO_NAME, ids=[c.encode("unicode_escape").decode()[:40] for c in NO_NAME])
def test_a_company_of_only_punctuation_spaces_or_invisible_characters_is_held_at_the_shipped_gate(company):
    router = router_for(None, [partner("001A")])
    d = router.decide(lead(company=company), RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and d.rule == "Gate check", d.reason
    assert d.reason.startswith("Company: ") and "enter the company's name" in d.reason, d.reason


@pytest.mark.parametrize("company", NAMES, ids=[c.encode("unicode_escape").decode()[:40] for c in NAMES])
def test_a_company_with_anything_more_than_punctuation_passes_the_shipped_gate(company):
    router = router_for(None, [partner("001A")])
    d = router.decide(lead(company=company), RoutingState(), NOW)
    assert d.rule != "Gate check", d.reason


def test_the_lead_corpus_holds_companies_at_the_shipped_gate():
    """tests/badinput's rule file checks leads end to end through the sandbox: its company
    gate is the shipped one, so what the corpus proves holds for the shipped rules."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shipped = (root / "rules" / "defaults" / "rules.toml").read_text(encoding="utf-8")
    gate = shipped[shipped.index("# A name made only of punctuation"):shipped.index("[[gate]]\nwhen = 'country")]
    assert gate in (root / "tests" / "badinput" / "rules.toml").read_text(encoding="utf-8")
