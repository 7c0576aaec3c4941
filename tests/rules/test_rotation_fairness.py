"""Fair rotation as a channel manager reads it: every partner a rule admits for a lead gets
its turn in that lead's rotation, whatever other leads the same rule routes elsewhere."""
from __future__ import annotations

from collections import Counter

from rules import RoutingState
from tests.rules.conftest import NOW, lead, partner, route_many, router_for, simple_rules


def place(lid: str, country: str):
    return lead(lid, country=country, state=None, postal_code=None)


# ids interleave the countries, as Account ids do: a Dutch, a German, two Dutch partners
DUTCH_AND_GERMAN = [partner("001A", coverage=("NL",)), partner("001B", coverage=("DE",)),
                    partner("001C", coverage=("NL",)), partner("001D", coverage=("NL",))]


def test_round_robin_shares_a_country_evenly_while_the_rule_also_routes_another_country():
    # one pointer per rule sent every Dutch lead after a German one to the Dutch partner
    # after the German's id: 59, 1 and 0 of 60
    router = router_for(simple_rules("round_robin"), DUTCH_AND_GERMAN)
    leads = [place(f"00Q{i:04d}{c}", c) for i in range(60) for c in ("NL", "DE")]
    decisions, _ = route_many(router, leads)
    dutch = Counter(d.partner_id for d in decisions if d.lead_id.endswith("NL"))
    assert dutch == {"001A": 20, "001C": 20, "001D": 20}


def test_weighted_rotation_inside_a_weight_class_is_per_country_too():
    partners = [partner("001A", coverage=("NL",), weight=1.0), partner("001B", coverage=("DE",), weight=1.0),
                partner("001C", coverage=("NL",), weight=1.0), partner("001D", coverage=("NL",), weight=1.0)]
    router = router_for(simple_rules("weighted").replace('distribute = "weighted"',
                                                          'distribute = "weighted"\n  weight_by = "weight"'), partners)
    leads = [place(f"00Q{i:04d}{c}", c) for i in range(60) for c in ("NL", "DE")]
    decisions, _ = route_many(router, leads)
    dutch = Counter(d.partner_id for d in decisions if d.lead_id.endswith("NL"))
    assert dutch == {"001A": 20, "001C": 20, "001D": 20}


def test_each_distributors_resellers_share_its_hand_downs_evenly():
    # two distributors' hand-downs alternate; the built-in hand-down rule is one rule for both
    partners = [partner("001D1", role="Distributor"), partner("001D2", role="Distributor"),
                partner("001R1", parent_id="001D1"), partner("001R2", parent_id="001D2"),
                partner("001R3", parent_id="001D1")]
    router = router_for(simple_rules("round_robin"), partners)
    state = RoutingState()
    got: Counter[str] = Counter()
    for i in range(20):
        for dist in ("001D1", "001D2"):
            d = router.hand_down(lead(f"00Q{i:03d}{dist}"), dist, state, NOW, attempt=2)
            state.record_offer(d, NOW)
            got[d.partner_id] += 1
    assert got == {"001R1": 10, "001R3": 10, "001R2": 20}


def test_a_partner_joining_mid_run_gets_its_turn_without_a_catch_up_flood_or_a_restart():
    text = simple_rules("round_robin")
    first = [partner("001A", coverage=("NL",)), partner("001C", coverage=("NL",)), partner("001E", coverage=("NL",))]
    router = router_for(text, first)
    decisions, state = route_many(router, [place(f"00Q{i:03d}", "NL") for i in range(7)])
    assert [d.partner_id for d in decisions] == ["001A", "001C", "001E"] * 2 + ["001A"]
    # 001B joins the Dutch partners: the rotation goes on after 001A, it takes its place
    # in the turn and no more (a new partner is not owed the leads routed before it came)
    router = router_for(text, [*first, partner("001B", coverage=("NL",))])
    decisions, state = route_many(router, [place(f"00Q1{i:02d}", "NL") for i in range(8)], state)
    assert [d.partner_id for d in decisions] == ["001B", "001C", "001E", "001A"] * 2


def test_rotation_pointers_stay_bounded_and_the_least_recently_turned_go_first(monkeypatch):
    from rules import state as state_module
    from rules.model import Decision, DecisionKind

    monkeypatch.setattr(state_module, "_KEEP_ROTATIONS", 3)
    s = RoutingState()

    def offer(lead_id: str, *keys: str) -> None:
        s.record_offer(Decision(lead_id=lead_id, kind=DecisionKind.OFFER, reason="", partner_id="001A",
                                explanation={"rotation": dict.fromkeys(keys, "001A")}), NOW)

    offer("00Q1", "Rule", "Rule|set a")
    offer("00Q2", "Rule", "Rule|set b")  # the rule's own pointer turned again: it is the newest
    offer("00Q3", "Rule|set c")
    assert list(s.rotation) == ["Rule", "Rule|set b", "Rule|set c"]


def test_a_weighted_offer_says_the_weight_in_words_a_channel_manager_reads():
    partners = [partner("001A", coverage=("NL",), weight=3.0, tier="Gold"), partner("001C", coverage=("NL",))]
    by_weight = simple_rules("weighted").replace('distribute = "weighted"', 'distribute = "weighted"\n  weight_by = "weight"')
    d = router_for(by_weight, partners).decide(place("00Q1", "NL"), RoutingState(), NOW)
    assert "weighted by routing weight (" in d.reason and "weighted by weight" not in d.reason, d.reason
    by_tier = simple_rules("weighted").replace('distribute = "weighted"', 'distribute = "weighted"\n  weight_by = "tier"')
    d = router_for(by_tier, partners).decide(place("00Q1", "NL"), RoutingState(), NOW)
    assert "weighted by tier (" in d.reason and ": weight " in d.reason, d.reason


def test_a_rebuilt_state_moves_the_same_rotation_keys_the_offer_moved():
    # what jobs/recovery.py asks of the router, from the Lead alone, for every kind of turn
    partners = [*DUTCH_AND_GERMAN, partner("001D1", role="Distributor", coverage=("NL",)),
                partner("001R1", parent_id="001D1", coverage=("NL",)), partner("001R2", parent_id="001D1", coverage=("NL",))]
    weighted = simple_rules("weighted").replace('distribute = "weighted"', 'distribute = "weighted"\n  weight_by = "tier"')
    for text in (simple_rules("round_robin"), weighted, simple_rules("least_loaded"), simple_rules("round_robin")
                 + '\n[hand_down]\nmatch = { geography = true }\ndistribute = "round_robin"\n'):
        router = router_for(text, partners)
        state = RoutingState()
        for i, c in enumerate("NDNND"):
            d = router.decide(place(f"00Q{i}", "NL" if c == "N" else "DE"), state, NOW)
            state.record_offer(d, NOW)
            assert router.rotation_of(place(f"00Q{i}", "NL" if c == "N" else "DE"), d.rule, d.partner_id) \
                == d.explanation["rotation"], (text, d.reason)
        d = router.hand_down(place("00Q9", "NL"), "001D1", state, NOW, attempt=2)
        assert d.partner_id in ("001R1", "001R2")
        assert router.rotation_of(place("00Q9", "NL"), d.rule, d.partner_id) == d.explanation["rotation"]
