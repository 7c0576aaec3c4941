"""Deal registration protection on Kestrel's UK channel (tests/jobs/kestrel_org.py).

The UK rule sends a lead with coordinates to the nearest partner; a partner holding an
approved, unexpired registration for the lead's company (or its email domain) gets the lead
whatever that rule says, and the Lead's reason says it was the registration. A registration
that expired, or one the vendor rejected, protects nothing: the rule decides, and the reason
says nothing of a registration.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs.kestrel_org import kestrel_fixture, register_deal

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)

LONDON = {"Latitude": 51.5155, "Longitude": -0.0922, "City": "London"}  # the City: Thames is 3 km away


def test_an_approved_registration_wins_over_the_nearest_partner_rule(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Canary Wharf Holdings")  # Liverpool, 300 km away
    lead = k.new_lead("Canary Wharf Holdings plc", "GB", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Offered", "mersey", k.reps["mersey"]), v
    assert "registration" in v["Routing_Reason__c"].lower(), v
    assert "registration" in (v["Routing_Rule__c"] or "").lower(), v
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["Offer_Deadline__c"]) == ("Accepted", "mersey", None), v


def test_a_registration_matching_the_email_domain_wins_whatever_the_company_is_typed(kestrel):
    k = kestrel
    register_deal(k, "pennine", "Blackfriars Capital", domain="blackfriarscap.example")
    lead = k.new_lead("BFC", "GB", Email="cfo@blackfriarscap.example", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"]) == ("Offered", "pennine"), v
    assert "registration" in v["Routing_Reason__c"].lower(), v


def test_an_expired_registration_protects_nothing_and_the_rule_decides(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Ludgate Insurance", expires=k.now().date() + timedelta(days=2))
    lead_before = k.new_lead("Ludgate Insurance", "GB", **LONDON)
    k.once(init=True)
    assert k.view(lead_before)["partner"] == "mersey", "unexpired: protected"
    k.once(hours=24 * 4)  # the registration ran out two days ago (the org's clock)
    lead = k.new_lead("Ludgate Insurance", "GB", Email="ops@ludgate.example", **LONDON)
    k.once()
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["Routing_Rule__c"]) == ("Offered", "thames", "Nearest UK partner"), v
    assert "registration" not in v["Routing_Reason__c"].lower(), v


def test_a_registration_that_ran_out_yesterday_in_sydney_protects_nothing_though_utc_says_today(kestrel):
    """The org's day is Sydney's: at 09:30 on Monday the 3rd there it is still Sunday the 2nd
    in UTC. A registration expiring on the 2nd ran out at the end of the 2nd, the org's date."""
    k = kestrel
    assert (k.now().day, k.now().hour) == (2, 22), "the org starts at 09:30 Monday 3rd in Sydney"
    register_deal(k, "mersey", "Moorgate Mutual", expires=k.now().date())
    lead = k.new_lead("Moorgate Mutual", "GB", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Rule__c"]) == ("thames", "Nearest UK partner"), v


def test_a_registration_expiring_today_in_sydney_still_protects(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Cheapside Chemicals", expires=k.now().date() + timedelta(days=1))
    lead = k.new_lead("Cheapside Chemicals", "GB", **LONDON)
    k.once(init=True)
    assert k.view(lead)["partner"] == "mersey", k.view(lead)


def test_a_rejected_registration_protects_nothing(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Aldgate Foods", status="Rejected")
    lead = k.new_lead("Aldgate Foods", "GB", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Rule__c"]) == ("thames", "Nearest UK partner"), v
    assert "registration" not in v["Routing_Reason__c"].lower(), v


def test_two_partners_registered_for_the_same_company_escalate_naming_both(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Bishopsgate Textiles")
    register_deal(k, "pennine", "Bishopsgate Textiles Ltd")
    lead = k.new_lead("Bishopsgate Textiles", "GB", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Escalated", k.queues["Channel_Escalations"]), v
    assert "Mersey" in v["Routing_Reason__c"] and "Pennine" in v["Routing_Reason__c"], v


def test_a_resellers_registration_skips_the_distributor_tier(kestrel):
    """ANZ leads go to a distributor first; Outback Systems (a reseller under Southern Cross)
    registered this customer, so the lead goes to Outback directly."""
    k = kestrel
    register_deal(k, "outback", "Kalgoorlie Gold Mines")
    lead = k.new_lead("Kalgoorlie Gold Mines", "AU", State="WA")
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Offered", "outback", k.reps["outback"]), v


def test_when_the_registering_partner_rejects_the_rule_decides_and_never_offers_it_back(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Southwark Signs")
    lead = k.new_lead("Southwark Signs", "GB", **LONDON)
    k.once(init=True)
    assert k.view(lead)["partner"] == "mersey"
    k.reject(lead, "Existing customer")
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["Routing_Rule__c"]) == ("Offered", "thames", "Nearest UK partner"), v
    assert v["Routing_Reason__c"].startswith("offer 1 was rejected; "), v
    k.reject(lead, "No capacity")
    k.once(hours=1)
    v = k.view(lead)
    assert v["partner"] not in ("mersey", "thames"), v


def test_a_registering_partner_that_is_paused_escalates_rather_than_going_to_a_rival(kestrel):
    k = kestrel
    register_deal(k, "mersey", "Lambeth Lighting")
    k.org.update("Account", k.partners["mersey"], {"Routing_Paused__c": True}, as_user=k.admin)
    lead = k.new_lead("Lambeth Lighting", "GB", **LONDON)
    k.once(init=True)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Escalated", k.queues["Channel_Escalations"]), v
    assert "Mersey" in v["Routing_Reason__c"] and "registration" in v["Routing_Reason__c"].lower(), v
