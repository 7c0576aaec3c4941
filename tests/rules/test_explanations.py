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


def test_a_replayed_walk_writes_the_trial_as_excluding_its_partners_one_by_one():
    """RuleTrial.exclude_walk (a capped walk replayed, rules.distribution) against
    exclude_each, in a fresh trial and in one that already counted some of its partners."""
    from rules.explain import EXCLUSIONS_LISTED, RuleTrial

    passed = tuple((f"001P{i:03d}", "at capacity" if i % 3 else "at daily cap", f"why {i}") for i in range(40))
    kinds: dict[str, int] = {}
    for _, kind, _ in passed:
        kinds[kind] = kinds.get(kind, 0) + 1
    for already in ((), ("001P005", "001P030")):  # nobody of the walk counted yet; two of them
        walked, replayed = RuleTrial("r", "s", ""), RuleTrial("r", "s", "")
        for t in (walked, replayed):
            t.list_excluded([0], ["001X"], ["paused"])  # a paused partner named first, as eligible() does
            t.excluded_counts["paused"] = 1
            for pid in already:
                t.exclude(pid, "at capacity", "earlier")
        walked.exclude_each(passed)
        replayed.exclude_walk(passed, frozenset(p for p, _, _ in passed), tuple(kinds.items()),
                              tuple((p, why) for p, _, why in passed))
        assert replayed.excluded == walked.excluded and len(walked.excluded) == EXCLUSIONS_LISTED
        assert list(replayed.excluded_counts.items()) == list(walked.excluded_counts.items())  # same order too
        assert replayed.to_dict() == walked.to_dict()
