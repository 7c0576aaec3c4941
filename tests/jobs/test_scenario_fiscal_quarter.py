""""Closing this quarter" on Kestrel's Indian channel (tests/jobs/kestrel_org.py): the org's
fiscal year starts in July (Setup → Fiscal Year, FiscalYearStartMonth 7), so its quarters
run Jul–Sep, Oct–Dec, Jan–Mar, Apr–Jun; the org's day is Sydney's. The rule sends deals
closing this fiscal quarter to the Gold partner (Ganges), later ones to the Silver (Deccan).
"""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.jobs.kestrel_org import UTC, kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def test_closing_this_fiscal_quarter_follows_a_july_fiscal_year(kestrel):
    """On 3 March the quarter is January–March (as it is for a calendar year too), and 1 April
    starts the next; so test the edges: 31 March in, 1 April out, 31 December (last quarter) out."""
    k = kestrel
    in_q = k.new_lead("Pune Pumps", "IN", Expected_Close_Date__c="2031-03-31")
    next_q = k.new_lead("Chennai Chips", "IN", Expected_Close_Date__c="2031-04-01")
    last_q = k.new_lead("Delhi Dairies", "IN", Expected_Close_Date__c="2030-12-31")
    k.once(init=True)
    assert (k.view(in_q)["partner"], k.view(in_q)["Routing_Rule__c"]) == ("ganges", "Closing this quarter to Gold")
    assert k.view(next_q)["partner"] == "deccan", k.view(next_q)
    assert k.view(last_q)["partner"] == "deccan", k.view(last_q)


def test_the_quarter_turns_at_midnight_in_sydney_on_the_fiscal_boundary(kestrel):
    """1 July 2031 00:30 in Sydney (30 June 14:30 UTC) is the first day of fiscal year 2032's
    first quarter (July–September): a deal closing 30 September is this quarter's, one
    closing 30 June is not, though it is still 30 June in UTC and in India."""
    k = kestrel
    k.once(init=True)
    k.at(datetime(2031, 6, 30, 14, 30, tzinfo=UTC))
    sept = k.new_lead("Mumbai Metals", "IN", Expected_Close_Date__c="2031-09-30")
    june = k.new_lead("Kolkata Kites", "IN", Expected_Close_Date__c="2031-06-30")
    k.once()
    assert k.view(sept)["partner"] == "ganges", k.view(sept)
    assert k.view(june)["partner"] == "deccan", k.view(june)


def test_a_lead_without_a_close_date_is_not_closing_this_quarter(kestrel):
    k = kestrel
    lead = k.new_lead("Jaipur Jewels", "IN")
    k.once(init=True)
    assert (k.view(lead)["partner"], k.view(lead)["Routing_Rule__c"]) == ("deccan", "Later deals to Silver")
