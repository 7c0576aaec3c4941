"""Restarts and a lost state between the steps of a lead's life give the lifecycle it
would have had in one process: the scenario org, the same script three ways (one
connector; a new connector on the same state file before every step; the state file
deleted before every step, rebuilt from the org). Also fair shares over many leads."""
from __future__ import annotations

from collections import Counter

import pytest

from tests.jobs import test_scenario_lifecycle as base

pytestmark = pytest.mark.e2e
so, sc, offered_partner = base.so, base.sc, base.offered_partner


def between(sc, mode: str) -> None:
    if mode != "same":
        sc.restart(lose_state=mode == "lose")


@pytest.mark.parametrize("mode", ["same", "restart", "lose"])
def test_push_offers_accepted_rejected_and_lapsed_come_out_the_same_across_restarts(so, sc, mode):
    accepted, rejected, lapsing = (so.new_lead(n) for n in ("Assen Aluminium", "Breda Beton", "Cuijk Cacao"))
    sc.step()
    between(sc, mode)
    assert [offered_partner(sc, x) for x in (accepted, rejected, lapsing)] == \
        [so.partners[k] for k in ("anker", "brug", "dijk")]
    sc.accept(accepted)
    sc.reject(rejected, "Out of territory", "north only")
    sc.step()
    between(sc, mode)
    v = sc.view(accepted)
    assert (v["Routing_Status__c"], v["PartnerAccountId"]) == ("Accepted", so.partners["anker"]), v
    moved_to = offered_partner(sc, rejected)
    assert moved_to != so.partners["brug"] and sc.view(rejected)["Routing_Attempt__c"] == 2
    sc.step(hours=25)  # the lapsing lead's offer and the rejected lead's second offer run out
    between(sc, mode)
    v = sc.view(lapsing)
    assert offered_partner(sc, lapsing) != so.partners["dijk"] and v["Routing_Attempt__c"] == 2, v
    assert offered_partner(sc, rejected) not in (so.partners["brug"], moved_to)
    sc.step(hours=25)
    between(sc, mode)
    sc.step(hours=25)
    for lead in (rejected, lapsing):  # three Dutch partners, three offers each: escalated
        v = sc.view(lead)
        assert v["Routing_Status__c"] == "Escalated" and v["Routing_Reason__c"], v
        assert len({o["partner_id"] for o in sc.offers(lead) if o["partner_id"]}) <= 3
    assert sc.view(accepted)["Routing_Status__c"] == "Accepted"


@pytest.mark.parametrize("mode", ["same", "restart", "lose"])
def test_a_second_pool_pickup_is_undone_across_restarts(so, sc, mode):
    lead = so.new_lead("Lille Lin", country="FR")
    sc.step()
    between(sc, mode)
    rhone, loire = so.reps["rhone"][0], so.reps["loire"][0]
    sc.sb.org.update("Lead", lead, {"OwnerId": rhone}, as_user=rhone)
    sc.step()
    between(sc, mode)
    sc.sb.org.update("Lead", lead, {"OwnerId": loire}, as_user=loire)
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", rhone, so.partners["rhone"])


@pytest.mark.parametrize("mode", ["same", "restart", "lose"])
def test_a_hand_down_goes_on_to_the_next_reseller_across_restarts(so, sc, mode):
    lead = so.new_lead("Charleroi Chocolat", country="BE")
    sc.step()
    between(sc, mode)
    sc.accept(lead)
    sc.step()
    between(sc, mode)
    first = offered_partner(sc, lead)
    sc.reject(lead)
    sc.step()
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second != first and v["Routing_Rule__c"] == "Hand-down to a reseller" and v["Routing_Attempt__c"] == 3, v


def test_weights_and_daily_caps_give_the_shares_they_promise(so, sc):
    # Germany: Elbe weighs 3, Isar 1; the Netherlands: Anker takes at most 3 a day
    sc.sb.org.update("Account", so.partners["anker"], {"Daily_Cap__c": 3.0}, as_user=so.admin)
    german = [so.new_lead(f"Firma {i} GmbH", country="DE") for i in range(80)]
    dutch = [so.new_lead(f"Handel {i} B.V.") for i in range(15)]
    sc.step()
    shares = Counter(so.name_of(offered_partner(sc, x)) for x in german)
    assert set(shares) == {"elbe", "isar"} and 50 <= shares["elbe"] <= 70, shares
    dutch_shares = Counter(so.name_of(offered_partner(sc, x)) for x in dutch)
    assert dutch_shares["anker"] == 3 and dutch_shares["brug"] == dutch_shares["dijk"] == 6, dutch_shares
