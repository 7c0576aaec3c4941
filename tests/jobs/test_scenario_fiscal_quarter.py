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


def custom_fiscal_year(k) -> None:
    """Kestrel moves to a 4-4-5 fiscal year (Setup → Fiscal Year → Custom): FY2031 runs
    from Sunday 30 June 2030 in four 13-week quarters; its third ends Saturday 29 March."""
    fy = k.org.create("FiscalYearSettings", {"Name": "2031", "StartDate": "2030-06-30", "EndDate": "2031-06-28",
                                              "IsStandardYear": False, "YearType": "Custom"}, system=True)
    k.org.create("Period", {"FiscalYearSettingsId": fy, "Type": "Year", "StartDate": "2030-06-30",
                            "EndDate": "2031-06-28", "FullyQualifiedLabel": "FY 2031"}, system=True)
    for n, (start, end) in enumerate([("2030-06-30", "2030-09-28"), ("2030-09-29", "2030-12-28"),
                                      ("2030-12-29", "2031-03-29"), ("2031-03-30", "2031-06-28")], 1):
        k.org.create("Period", {"FiscalYearSettingsId": fy, "Type": "Quarter", "StartDate": start, "EndDate": end,
                                "Number": n, "FullyQualifiedLabel": f"Q{n} FY 2031"}, system=True)


def test_closing_this_quarter_follows_the_orgs_custom_fiscal_year(kestrel):
    """On 3 March the org's quarter is Q3 FY2031, 29 December – 29 March: a deal closing
    29 March is this quarter's, one closing 31 March is not (though March ends the quarter
    of a July fiscal year counted in months); the preview says what `once` then does."""
    k = kestrel
    custom_fiscal_year(k)
    in_q = k.new_lead("Pune Pumps", "IN", Expected_Close_Date__c="2031-03-29")
    next_q = k.new_lead("Chennai Chips", "IN", Expected_Close_Date__c="2031-03-31")
    preview = k.dry_run()
    assert "Deccan" in preview[next_q]["to"] and "Ganges" in preview[in_q]["to"], preview
    k.once(init=True)
    assert (k.view(in_q)["partner"], k.view(in_q)["Routing_Rule__c"]) == ("ganges", "Closing this quarter to Gold")
    assert k.view(next_q)["partner"] == "deccan", k.view(next_q)


def test_days_after_the_last_custom_year_follow_the_fiscal_start_month(kestrel):
    """FY2031 ends 28 June; on 1 July 2031 in Sydney no custom year covers the day (the admin
    has not defined FY2032 yet), so the July fiscal year's months decide: July–September."""
    k = kestrel
    custom_fiscal_year(k)
    k.once(init=True)
    k.at(datetime(2031, 6, 30, 14, 30, tzinfo=UTC))
    sept = k.new_lead("Mumbai Metals", "IN", Expected_Close_Date__c="2031-09-30")
    k.once()
    assert k.view(sept)["partner"] == "ganges", k.view(sept)


def test_the_orgs_periods_and_currencies_are_read_with_the_days_full_check_not_at_every_start(kestrel, monkeypatch):
    """A cron `once` every minute would pay two queries a start for what an admin changes a
    few times a year: they are read with the day's full check and kept in the state between,
    and a start on a lost state reads them again."""
    from jobs import preflight

    k, asked = kestrel, []
    custom_fiscal_year(k)
    real = preflight.fiscal_periods
    monkeypatch.setattr(preflight, "fiscal_periods", lambda client: asked.append(1) or real(client))
    k.once(init=True)
    k.once()
    assert len(asked) == 1, "the second start read the periods again"
    lead = k.new_lead("Chennai Chips", "IN", Expected_Close_Date__c="2031-03-31")  # after Q3's 29 March
    k.once()
    assert k.view(lead)["partner"] == "deccan", "the kept periods were not used"
