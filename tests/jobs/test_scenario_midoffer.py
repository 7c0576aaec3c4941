"""A lead changed under a live offer: by an admin, by the org's people and accounts
changing, by Salesforce (delete, merge, conversion). The scenario org of
test_scenario_lifecycle; after each step the Lead as an admin sees it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs import test_scenario_lifecycle as base

pytestmark = pytest.mark.e2e
so, sc, offered_partner = base.so, base.sc, base.offered_partner  # the scenario org and its loop

SYNC = timedelta(minutes=16)  # past the partner sync's interval: the next cycle reads accounts and users


def test_owner_moved_by_an_admin_to_another_partners_rep_is_released_to_that_partner(so, sc):
    lead = so.new_lead("Utrecht Uurwerk")
    sc.step()
    first = offered_partner(sc, lead)
    other = next(k for k in ("anker", "brug", "dijk") if so.partners[k] != first)
    rep = so.reps[other][0]
    sc.sb.org.update("Lead", lead, {"OwnerId": rep}, as_user=so.admin)
    sc.step()
    v = sc.view(lead)
    assert (v["OwnerId"], v["PartnerAccountId"], v["Routing_Status__c"]) == (rep, so.partners[other], "Released"), v
    assert "taken over by a person" in v["Routing_Reason__c"], v
    sc.step(hours=30)
    assert sc.view(lead)["OwnerId"] == rep and len(sc.offers(lead)) == 1


def test_rep_deactivated_mid_offer_the_offer_is_withdrawn_and_decided_again(so, sc):
    lead = so.new_lead("Leiden Lenzen")
    sc.step()
    partner = offered_partner(sc, lead)
    rep = sc.view(lead)["OwnerId"]
    sc.sb.org.update("User", rep, {"IsActive": False}, as_user=so.admin)
    sc.step(hours=SYNC.total_seconds() / 3600)
    v = sc.view(lead)
    assert v["OwnerId"] != rep, f"a deactivated rep cannot answer; the offer must not wait for it: {v}"
    assert v["Routing_Status__c"] == "Offered" and v["Routing_Attempt__c"] == 1, v
    first = sc.offers(lead)[0]
    assert first["status"] == "closed" and "deactivated" in first["close_reason"], first
    # nobody declined: the partner is not barred (its other rep, or a later offer, may still get it)
    with sc.cx.store.connect() as conn:
        from jobs.state import offers as of

        assert partner not in of.lead_facts(conn, [lead])[0].get(lead, {})


def test_partner_paused_mid_offer_the_offer_is_withdrawn_and_the_lead_goes_on(so, sc):
    lead = so.new_lead("Delft Draad")
    sc.step()
    partner = offered_partner(sc, lead)
    sc.sb.org.update("Account", partner, {"Routing_Paused__c": True}, as_user=so.admin)
    sc.step(hours=SYNC.total_seconds() / 3600)
    v = sc.view(lead)
    assert v["PartnerAccountId"] != partner and v["Routing_Status__c"] == "Offered", v
    assert offered_partner(sc, lead) != partner and v["Routing_Attempt__c"] == 1, v


def test_account_no_longer_a_partner_gets_no_new_leads_and_loses_its_live_offer(so, sc):
    lead = so.new_lead("Zwolle Zuivel")
    sc.step()
    partner = offered_partner(sc, lead)
    sc.sb.org.update("Account", partner, {"IsPartner": False}, as_user=so.admin)
    sc.step(hours=SYNC.total_seconds() / 3600)
    v = sc.view(lead)
    assert v["PartnerAccountId"] != partner and v["Routing_Status__c"] == "Offered", v
    later = [so.new_lead(f"Later {i} Handel") for i in range(4)]
    sc.step()
    assert [sc.view(x)["PartnerAccountId"] == partner for x in later] == [False] * 4


def test_withdrawn_offer_never_goes_back_to_a_partner_that_declined_the_lead(so, sc):
    # only anker and brug take Dutch leads now
    sc.sb.org.update("Account", so.partners["dijk"], {"Routing_Paused__c": True}, as_user=so.admin)
    sc.step(hours=0.5)
    lead = so.new_lead("Gouda Gieterij")
    sc.step()
    declined = offered_partner(sc, lead)
    sc.reject(lead, "No capacity", "full")
    sc.step()
    holder = offered_partner(sc, lead)
    assert holder != declined
    sc.sb.org.update("Account", holder, {"Routing_Paused__c": True}, as_user=so.admin)
    sc.step(hours=SYNC.total_seconds() / 3600)
    v = sc.view(lead)
    assert v["PartnerAccountId"] != declined, f"back to the partner that rejected it: {v}"
    assert v["Routing_Status__c"] == "Escalated" and v["OwnerId"] == sc.queue_id("Channel_Escalations"), v
    assert v["Routing_Reason__c"], v


def test_lead_deleted_merged_or_converted_mid_offer_closes_its_offer_and_nothing_is_written_after(so, sc):
    deleted, survivor, merged, converted = (so.new_lead(n) for n in ("Weg B.V.", "Samen B.V.", "Samen BV",
                                                                      "Klant B.V."))
    sc.step()
    sc.sb.org.delete("Lead", deleted, as_user=so.admin)
    # a merge keeps one record (a person's edit on it) and deletes the other
    sc.sb.org.update("Lead", survivor, {"Title": "CFO"}, as_user=so.admin)
    sc.sb.org.delete("Lead", merged, as_user=so.admin)
    sc.sb.org.update("Lead", converted, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    sc.step()
    for lead in (deleted, merged, converted):
        (offer,) = sc.offers(lead)
        assert offer["status"] == "closed" and offer["close_reason"], offer
    v = sc.view(survivor)
    assert v["Routing_Status__c"] == "Offered" and sc.offers(survivor)[-1]["status"] == "live", v
    stamp = sc.lead(converted)["SystemModstamp"]
    sc.step(hours=30)
    assert sc.lead(converted)["SystemModstamp"] == stamp and len(sc.offers(converted)) == 1
    assert all(len(sc.offers(x)) == 1 for x in (deleted, merged))
