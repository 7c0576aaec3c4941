"""A partner closes an accepted lead without converting it (Status "Closed - Not Converted").

The lead is over for the partner: its place in the partner's capacity frees up, the
partner is not barred or blamed, and the Lead keeps saying who accepted it (nothing of
ours is written over the partner's verdict). Before, the closed lead held the place for
good: a partner with a capacity of 10 that disqualified 10 leads got no lead again.

On the scenario org of test_scenario_lifecycle (Dutch resellers in a round robin), each
reseller given a capacity of one open lead.
"""
from __future__ import annotations

import pytest

from tests.jobs.test_scenario_lifecycle import Scenario, build_org, offered_partner

pytestmark = pytest.mark.e2e

DUTCH = ("anker", "brug", "dijk")


@pytest.fixture
def so(sandbox_factory):
    so = build_org(sandbox_factory())
    for short in DUTCH:
        so.org.update("Account", so.partners[short], {"Capacity__c": 1.0}, as_user=so.admin)
    return so


@pytest.fixture
def sc(so, tmp_path):
    s = Scenario(so, tmp_path)
    yield s
    s.close()


def every_dutch_reseller_holds_one_accepted_lead(so, sc) -> dict[str, str]:
    """partner id -> the lead it accepted"""
    held = {}
    for n in range(3):
        lead = so.new_lead(f"Molen {n}")
        sc.step()
        held[offered_partner(sc, lead)] = lead
        sc.accept(lead)
        sc.step(hours=1)
        assert sc.view(lead)["Routing_Status__c"] == "Accepted"
    assert set(held) == {so.partners[s] for s in DUTCH}
    full = so.new_lead("Volle Bak")
    sc.step()
    assert sc.view(full)["Routing_Status__c"] == "Escalated", "every reseller is at its capacity of one"
    return held


def test_a_lead_the_partner_closes_unconverted_frees_its_place_for_the_next_lead(so, sc):
    held = every_dutch_reseller_holds_one_accepted_lead(so, sc)
    pid, lead = next(iter(held.items()))
    rep = sc.view(lead)["OwnerId"]
    sc.answer(lead, {"Status": "Closed - Not Converted"})
    sc.step(hours=1)

    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", rep, pid), v
    [offer] = [o for o in sc.offers(lead) if o["partner_id"] == pid]
    assert offer["status"] == "lost", offer

    nxt = so.new_lead("Nieuwe Kans")
    sc.step()
    assert offered_partner(sc, nxt) == pid, "the only reseller with room is the one whose lead closed"


def test_accepting_and_closing_in_one_save_shows_accepted_and_frees_the_place(so, sc):
    lead = so.new_lead("Snel Dicht")
    sc.step()
    pid = offered_partner(sc, lead)
    sc.answer(lead, {"Partner_Response__c": "Accepted", "Status": "Closed - Not Converted"})
    sc.step(hours=1)
    assert sc.view(lead)["Routing_Status__c"] == "Accepted", "the acceptance is still written on the Lead"
    assert [o["status"] for o in sc.offers(lead) if o["partner_id"] == pid] == ["lost"]
    with sc.cx.store.connect() as conn:
        from jobs import lifecycle

        assert lifecycle.load_state(conn).open_count(pid) == 0


def test_a_state_rebuilt_after_the_close_does_not_count_the_closed_lead(so, sc):
    held = every_dutch_reseller_holds_one_accepted_lead(so, sc)
    pid, lead = next(iter(held.items()))
    sc.answer(lead, {"Status": "Closed - Not Converted"})
    sc.restart(lose_state=True)  # the close happened while the state was gone
    sc.step(hours=1)
    assert [o["status"] for o in sc.offers(lead) if o["partner_id"] == pid] == ["lost"]

    nxt = so.new_lead("Na Herstel")
    sc.step()
    assert offered_partner(sc, nxt) == pid


def test_a_person_reopening_the_closed_lead_routes_it_past_the_partner_that_closed_it(so, sc):
    held = every_dutch_reseller_holds_one_accepted_lead(so, sc)
    (pid, lead), (other, others_lead) = list(held.items())[:2]
    sc.answer(lead, {"Status": "Closed - Not Converted"})
    sc.answer(others_lead, {"Status": "Closed - Not Converted"})
    sc.step(hours=1)
    sc.answer(lead, {"Status": "Open - Not Contacted", "Routing_Status__c": "Pending"}, as_user=so.admin)
    sc.step()
    v = sc.view(lead)
    # both have room again; the one that closed it has had its go
    assert v["Routing_Status__c"] == "Offered" and v["PartnerAccountId"] == other, v
    assert "a person set Routing Status to Pending" in v["Routing_Reason__c"], v
