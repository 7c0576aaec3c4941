"""Kestrel turns on multiple currencies (Setup → Company Information → Currencies; the
corporate currency US dollars, dirhams at 3.6725 and yen at 150 to the dollar). A Gulf
partner's lead is entered in dirhams: "amount >= 100000" in the rule file is the
corporate currency's, as the org's own reports on Leads convert it — 250,000 dirhams
(68,074 dollars) is not a Platinum referral, 400,000 (108,918 dollars) is."""
from __future__ import annotations

import json

import pytest

from tests.jobs.kestrel_org import kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)
PLATINUM = "Hot referral to a Preferred Platinum"


def referral(k, company: str, amount: float, currency: str) -> str:
    return k.new_lead(company, "AE", LeadSource="Partner Referral", Rating="Hot", Deal_Amount__c=amount,
                      CurrencyIsoCode=currency)


def test_a_rules_amount_is_in_the_corporate_currency(kestrel):
    k = kestrel
    k.sb.org.with_multi_currency("USD", {"AED": 3.6725, "JPY": 150.0})
    small = referral(k, "Sharjah Shipping", 250_000, "AED")
    large = referral(k, "Abu Dhabi Ports", 400_000, "AED")
    dollars = referral(k, "Dubai Docks", 100_000, "USD")
    preview = k.dry_run()
    assert preview[small]["rule"] != PLATINUM and preview[large]["rule"] == PLATINUM, preview
    k.once(init=True)
    assert k.view(small)["Routing_Rule__c"] != PLATINUM, k.view(small)
    assert (k.view(large)["partner"], k.view(large)["Routing_Rule__c"]) == ("dune", PLATINUM), k.view(large)
    assert k.view(dollars)["Routing_Rule__c"] == PLATINUM, k.view(dollars)
    # the Lead keeps its own currency and amount: the connector converts only to decide
    stored = k.org.get("Lead", large)
    assert (stored["Deal_Amount__c"], stored["CurrencyIsoCode"]) == (400_000, "AED")
    said = json.dumps(k.explain(large))
    assert "compared in USD at the org's rate of 3.6725 AED to 1 USD: amount 108,917.63" in said, said


def test_a_lead_in_a_currency_the_org_no_longer_uses_says_so(kestrel):
    """An admin deactivated yen after leads were entered in it: the amount cannot be
    compared, so the referral rule does not take the lead, and the Lead says why."""
    k = kestrel
    k.sb.org.with_multi_currency("USD", {"AED": 3.6725, "JPY": 150.0})
    lead = referral(k, "Tokyo Traders", 90_000_000, "JPY")
    [yen] = [r for r in k.sb.org.records("CurrencyType") if r["IsoCode"] == "JPY"]
    k.sb.org.update("CurrencyType", yen["Id"], {"IsActive": False}, system=True)
    k.once(init=True)
    v = k.view(lead)
    assert v["Routing_Rule__c"] != PLATINUM, v
    said = json.dumps(k.explain(lead))
    assert "Deal_Amount__c: the lead's currency 'JPY' is not an active currency of the org" in said, said
