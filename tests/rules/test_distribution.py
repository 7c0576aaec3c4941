"""How leads are spread among eligible partners, and who is never chosen."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from rules import RoutingState, RulesError
from rules.model import DecisionKind

from tests.rules.conftest import NOW, lead, partner, route_many, router_for, simple_rules


def _leads(n):
    return [lead(f"00Q{i:05d}") for i in range(n)]


def test_round_robin_gives_each_equal_partner_one_lead_in_turn():
    router = router_for(simple_rules(), [partner(f"001{c}") for c in "CAB"])
    decisions, _ = route_many(router, _leads(6))
    assert [d.partner_id for d in decisions] == ["001A", "001B", "001C"] * 2


def test_round_robin_resumes_where_it_stopped_after_a_restart():
    router = router_for(simple_rules(), [partner(f"001{c}") for c in "ABC"])
    _, state = route_many(router, _leads(2))
    restored = RoutingState.from_dict(state.to_dict())
    fresh_router = router_for(simple_rules(), [partner(f"001{c}") for c in "ABC"])
    d = fresh_router.decide(lead("00Q9"), restored, NOW)
    assert d.partner_id == "001C"


def test_round_robin_skips_past_a_partner_who_left_since_the_last_offer():
    router = router_for(simple_rules(), [partner(f"001{c}") for c in "ABC"])
    _, state = route_many(router, _leads(2))  # A, B
    smaller = router_for(simple_rules(), [partner("001A"), partner("001C")])  # B left
    assert smaller.decide(lead("00Q9"), state, NOW).partner_id == "001C"


def test_weighted_by_tier_gives_platinum_about_four_times_registered():
    partners = [partner("001P", tier="Platinum"), partner("001R", tier="Registered")]
    router = router_for(simple_rules("weighted"), partners)
    counts = Counter(router.decide(lead(f"00Q{i:05d}"), RoutingState(), NOW).partner_id for i in range(2000))
    share = counts["001P"] / 2000
    assert 0.76 < share < 0.84  # 4 / (4 + 1) = 0.8


def test_weighted_shares_the_capped_partners_part_among_the_others_by_their_weights():
    """Weights 3 : 2 : 1, the heaviest capped at 20 a day: of the rest, 2 : 1. The draw that
    fell on the capped class was reused as it stood, so its whole share went to the class
    next to it in weight order (2,478 : 502 of 2,980, not 1,987 : 993)."""
    rules = simple_rules("weighted").replace('distribute = "weighted"', 'distribute = "weighted"\n  weight_by = "weight"')
    partners = [partner("001L", weight=3.0, daily_cap=20), partner("001S", weight=2.0), partner("001M", weight=1.0)]
    router = router_for(rules, partners)
    decisions, _ = route_many(router, [lead(f"00Q{i:05d}") for i in range(3000)])
    counts = Counter(d.partner_id for d in decisions)
    assert counts["001L"] == 20
    rest = counts["001S"] + counts["001M"]
    assert rest == 2980 and abs(counts["001S"] / rest - 2 / 3) < 0.03, counts


def test_least_loaded_offers_to_the_partner_with_most_room():
    partners = [partner("001A", capacity=10), partner("001B", capacity=10)]
    router = router_for(simple_rules("least_loaded"), partners)
    state = RoutingState(open_offers={"001A": 6, "001B": 2})
    assert router.decide(lead(), state, NOW).partner_id == "001B"


def test_best_fit_prefers_the_partner_with_the_better_track_record():
    partners = [partner("001GOOD"), partner("001POOR")]
    router = router_for(simple_rules("best_fit", best_fit_floor=0), partners)
    state = RoutingState()
    for i in range(20):
        state.record_outcome(f"old{i}", "001GOOD", "accepted", NOW, response_hours=1)
        state.record_outcome(f"old{i}", "001GOOD", "closed", NOW)
        state.record_outcome(f"old{i}", "001POOR", "rejected", NOW, response_hours=40)
    d = router.decide(lead(), state, NOW)
    assert d.partner_id == "001GOOD"
    assert d.explanation["rules"][0]["scores"][0]["partner_id"] == "001GOOD"


def test_best_fit_floor_still_hands_weaker_partners_some_leads():
    partners = [partner("001GOOD"), partner("001POOR")]
    router = router_for(simple_rules("best_fit", best_fit_floor=0.2), partners)
    state = RoutingState()
    for i in range(20):
        state.record_outcome(f"old{i}", "001GOOD", "accepted", NOW)
        state.record_outcome(f"old{i}", "001POOR", "rejected", NOW)
    decisions, _ = route_many(router, [lead(f"00Q{i:04d}") for i in range(500)], state)
    counts = Counter(d.partner_id for d in decisions)
    assert 0.05 < counts["001POOR"] / 500 < 0.16  # half of the 20 % floor's rotation


def test_incumbent_partner_gets_its_customers_new_lead():
    text = simple_rules().replace('distribute = "round_robin"', 'distribute = "round_robin"\n  prefer_incumbent = true')
    router = router_for(text, [partner("001A"), partner("001B"), partner("001C")])
    state = RoutingState()
    state.set_incumbent("001C", company="ACME Corporation")
    d = router.decide(lead(company="Acme Corp."), state, NOW)
    assert d.partner_id == "001C"
    assert "incumbent: already works this company" in d.reason


def test_an_incumbent_at_its_capacity_is_passed_over_and_the_explanation_names_it():
    text = simple_rules().replace('distribute = "round_robin"', 'distribute = "round_robin"\n  prefer_incumbent = true')
    router = router_for(text, [partner("001A"), partner("001B"), partner("001C", capacity=0)])
    state = RoutingState()
    state.set_incumbent("001C", company="ACME Corporation", at=NOW)
    d = router.decide(lead(company="Acme Corp."), state, NOW)
    assert d.partner_id != "001C" and "incumbent" not in d.reason
    notes = [n for r in d.explanation["rules"] for n in r["notes"]]
    assert any(n.startswith("incumbent Partner 001C works this company but is at ") and n.endswith(": the rule decides")
               for n in notes), notes


def test_partner_at_capacity_is_skipped():
    router = router_for(simple_rules(), [partner("001A", capacity=1), partner("001B", capacity=5)])
    decisions, _ = route_many(router, _leads(3))
    assert [d.partner_id for d in decisions] == ["001A", "001B", "001B"]


def test_partner_at_daily_cap_is_skipped_until_the_next_day():
    router = router_for(simple_rules(), [partner("001A", daily_cap=1)])
    decisions, state = route_many(router, _leads(2))
    assert decisions[1].kind is DecisionKind.UNROUTABLE
    assert "every eligible partner is at a cap" in decisions[1].reason or decisions[1].explanation["rules"][0][
        "excluded_counts"] == {"at daily cap": 1}
    tomorrow = router.decide(lead("00Q9"), state, NOW + timedelta(days=1))
    assert tomorrow.partner_id == "001A"


def test_paused_partner_and_partner_without_active_rep_are_never_chosen():
    partners = [partner("001PAUSED", paused=True), partner("001NOREP", reps=0), partner("001OK")]
    router = router_for(simple_rules(), partners)
    decisions, _ = route_many(router, _leads(5))
    assert {d.partner_id for d in decisions} == {"001OK"}
    excluded = router.explain(lead(), RoutingState(), NOW).trials[0].excluded
    assert excluded == {"001PAUSED": "paused", "001NOREP": "no active rep"}


def test_reps_inside_a_partner_take_turns():
    router = router_for(simple_rules(), [partner("001A", reps=3)])
    decisions, _ = route_many(router, _leads(4))
    assert [d.rep_id for d in decisions] == ["001A-rep0", "001A-rep1", "001A-rep2", "001A-rep0"]


def test_an_offer_to_a_partner_without_a_rep_is_refused_at_load_with_the_fix():
    """`rep = "partner_queue"` offered the lead to the partner and to none of its users: the
    lead stayed in the queue it came from with only PartnerAccountId set, which under the
    Private sharing the product needs no partner user can open — it could only lapse."""
    text = simple_rules().replace('distribute = "round_robin"', 'distribute = "round_robin"\n  rep = "partner_queue"')
    with pytest.raises(RulesError) as err:
        router_for(text, [partner("001A", reps=2)])
    said = str(err.value)
    assert "rep" in said and "no partner user can open" in said and "pool" in said


def test_same_inputs_and_state_give_the_same_decision():
    partners = [partner(f"001{i}", tier=t) for i, t in enumerate(["Gold", "Silver", "Platinum"])]
    for strategy in ("round_robin", "weighted", "least_loaded", "best_fit"):
        router = router_for(simple_rules(strategy), partners)
        state = RoutingState(open_offers={"0011": 3})
        first = router.decide(lead(), state, NOW)
        again = router_for(simple_rules(strategy), list(reversed(partners))).decide(lead(), state, NOW)
        assert (first.partner_id, first.rep_id, first.reason, first.explanation) == \
            (again.partner_id, again.rep_id, again.reason, again.explanation)


def test_rule_that_applies_but_finds_nobody_follows_its_own_otherwise():
    text = simple_rules().replace('distribute = "round_robin"',
                                  'distribute = "round_robin"\n  otherwise = "escalate"\n  when = \'source == "Web"\'')
    text += """
  [[ruleset.rule]]
  name = "Never reached"
"""
    router = router_for(text, [partner("001DE", coverage=("DE",))])
    d = router.decide(lead(), RoutingState(), NOW)
    assert d.kind is DecisionKind.ESCALATE and d.rule == "Covering partner"
    assert d.reason == "Escalated: Covering partner: no partner covers US-CA"
    skipped = router.decide(lead(source="Other"), RoutingState(), NOW)  # the rule does not apply: next rule
    assert skipped.rule == "Never reached"
