"""Criteria from the lead, the partner and both, on Kestrel's Gulf channel
(tests/jobs/kestrel_org.py): Dune Digital (Platinum, Preferred, certified Security, Banking),
Oasis Technology (Gold, certified Data Analytics and AWS Migration, Retail) and Falcon IT
(Platinum, nothing else). Each test is one rule of the Gulf rule set, read top down.
"""
from __future__ import annotations

import pytest

from tests.jobs.kestrel_org import kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def gulf(k, company: str, **fields) -> str:
    return k.new_lead(company, "AE", **fields)


def test_a_hot_large_referral_goes_to_a_preferred_platinum_partner(kestrel):
    k = kestrel
    lead = gulf(k, "Abu Dhabi Ports", LeadSource="Partner Referral", Rating="Hot", Deal_Amount__c=250000)
    k.once(init=True)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Rule__c"]) == ("dune", "Hot referral to a Preferred Platinum"), v


@pytest.mark.parametrize("fields", [
    {"LeadSource": "Web", "Rating": "Hot", "Deal_Amount__c": 250000},             # not a referral
    {"LeadSource": "Partner Referral", "Rating": "Warm", "Deal_Amount__c": 250000},  # not hot
    {"LeadSource": "Partner Referral", "Rating": "Hot", "Deal_Amount__c": 99999},    # too small
    {"LeadSource": "Partner Referral", "Rating": "Hot"},                           # no amount
])
def test_a_lead_missing_one_condition_of_the_referral_rule_passes_on(kestrel, fields):
    k = kestrel
    lead = gulf(k, "Sharjah Shipping", **fields)
    k.once(init=True)
    assert k.view(lead)["Routing_Rule__c"] != "Hot referral to a Preferred Platinum", k.view(lead)


def test_products_go_to_a_partner_certified_for_every_platform_they_need(kestrel):
    k = kestrel
    data = gulf(k, "Dubai Malls", Products__c="Data Platform;Cloud Migration")
    security = gulf(k, "Emirates Bank Security", Products__c="Security Suite")
    k.once(init=True)
    assert (k.view(data)["partner"], k.view(data)["Routing_Rule__c"]) == ("oasis", "Certified for the products")
    assert k.view(security)["partner"] == "dune", k.view(security)


def test_a_product_nobody_is_certified_for_passes_to_the_industry_rule(kestrel):
    k = kestrel
    lead = gulf(k, "Ajman Retail Group", Products__c="ERP Connector", Industry="Retail")
    k.once(init=True)
    v = k.view(lead)
    assert (v["partner"], v["Routing_Rule__c"]) == ("oasis", "Industry specialist"), v


def test_an_industry_in_another_case_meets_the_partners_industry(kestrel):
    k = kestrel
    lead = gulf(k, "Fujairah Finance", Industry="banking")
    k.once(init=True)
    assert (k.view(lead)["partner"], k.view(lead)["Routing_Rule__c"]) == ("dune", "Industry specialist")


def test_a_lead_matching_no_specialist_goes_round_the_gulf_partners(kestrel):
    k = kestrel
    leads = [gulf(k, f"Ras Al Khaimah Cement {i}", Industry="Construction") for i in range(3)]
    k.once(init=True)
    got = sorted(k.view(x)["partner"] for x in leads)
    assert got == ["dune", "falcon", "oasis"], got
    assert {k.view(x)["Routing_Rule__c"] for x in leads} == {"Anyone in the Gulf"}


def test_a_paused_partner_and_a_partner_without_an_active_rep_are_never_offered(kestrel):
    k = kestrel
    k.org.update("Account", k.partners["dune"], {"Routing_Paused__c": True}, as_user=k.admin)
    k.org.update("User", k.reps["falcon"], {"IsActive": False}, as_user=k.admin)
    leads = [gulf(k, f"Al Ain Farms {i}") for i in range(4)]
    k.once(init=True)
    assert {k.view(x)["partner"] for x in leads} == {"oasis"}


def test_a_lead_no_rule_set_takes_says_so_and_names_a_country_that_could_not_be_read(kestrel):
    """Kestrel's rule sets go by country and it wrote no country gate: a Brazilian lead is
    Unroutable as no rule set applies; a lead whose Country reads "Atlantis" says that is
    why, with the value, as a gate would."""
    k = kestrel
    brazil, atlantis = k.new_lead("Rio Cafe", "Brazil"), k.new_lead("Poseidon Pearls", "Atlantis")
    k.once(init=True)
    v = k.view(brazil)
    assert (v["Routing_Status__c"], v["Routing_Reason__c"]) == ("Unroutable", "Rules: no rule set applies to this lead")
    v = k.view(atlantis)
    assert v["Routing_Status__c"] == "Unroutable" and '"Atlantis" is not a recognised country' in v["Routing_Reason__c"]
