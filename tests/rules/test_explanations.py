"""Every decision says why: a short reason for the Lead, a full trace for the audit log."""
from __future__ import annotations

import json

from rules import RoutingState
from rules.model import DecisionKind

from tests.rules.conftest import NOW, lead, partner, router_for, simple_rules


def test_short_reason_fits_the_lead_field_even_with_long_names():
    long_name = "Very Long Partner Name " * 20
    d = router_for(simple_rules(), [partner("001A", long_name)]).decide(lead(), RoutingState(), NOW)
    assert d.kind is DecisionKind.OFFER and len(d.reason) <= 255 and d.reason.endswith("…")


def test_reason_names_rule_partner_and_how_it_was_chosen():
    d = router_for(simple_rules(), [partner("001A", "Northwind"), partner("001B", paused=True)]).decide(
        lead(), RoutingState(), NOW)
    assert d.reason == "Covering partner: Northwind — round robin; 1 eligible, 1 excluded"


def test_full_explanation_lists_rules_tried_exclusions_and_scores_and_is_json():
    text = """
[settings]
business_hours = false
[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Only hot"
  when = 'rating == "Hot"'
  [[ruleset.rule]]
  name = "Best"
  match = { geography = true }
  distribute = "best_fit"
"""
    partners = [partner("001A"), partner("001B", capacity=0), partner("001C", reps=0), partner("001D")]
    state = RoutingState()
    state.record_outcome("00Q1", "001D", "rejected", NOW)
    router = router_for(text.replace("[settings]", "[settings]\nbest_fit_floor = 0"), partners)
    ex = router.explain(lead(), state, NOW)
    assert [t.rule for t in ex.trials] == ["Only hot", "Best"]
    assert ex.trials[0].outcome == "condition not met"
    assert ex.trials[1].excluded == {"001B": "at capacity (0/0 open offers)", "001C": "no active rep",
                                     "001D": "already rejected this lead"}
    assert ex.trials[1].scores[0]["partner_id"] == "001A"
    assert ex.chosen["partner_id"] == "001A"
    json.dumps(ex.to_dict())
    assert "excluded" in ex.text()


def test_decision_explanation_matches_explain_for_the_choice():
    router = router_for(None, [partner("001A"), partner("001B")])
    d = router.decide(lead(), RoutingState(), NOW)
    ex = router.explain(lead(), RoutingState(), NOW)
    assert d.explanation["chosen"] == ex.chosen and d.reason == ex.short()


def test_lead_with_nothing_but_an_id_and_a_company_is_decided_not_crashed():
    from rules.model import Lead
    router = router_for(None, [partner("001A")])
    bare = Lead(id="00Qbare", company="Acme", products=None)  # mappings may hand over None for empty fields
    d = router.decide(bare, RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and d.reason.startswith("Country:")
    located = Lead(id="00Qloc", company="Acme", country="US", products=None, source="Web")
    assert router.decide(located, RoutingState(), NOW).kind in (DecisionKind.OFFER, DecisionKind.POOL)
