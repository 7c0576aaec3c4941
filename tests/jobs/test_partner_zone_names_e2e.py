"""A partner's Time_Zone__c as orgs really hold it: an old alias (US/Eastern, Asia/Calcutta),
nothing, or a value that is no time zone at all. Every offer still gets a sane deadline on
the Lead (Offer_Deadline__c), and where the partner's own zone could not be used the Lead
says whose working hours counted (Routing_Reason__c).

The org's zone is New York's (the rule file's `time_zone`); the org's clock stands at
Monday 15 March 2027, 00:30 in New York (04:30 UTC, 10:00 in India), whatever day the test
runs. Eight working hours, 9 to 5, Monday to Friday.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.timeutil import parse_sf_datetime

from .test_business_hours_zones_e2e import live_offers, loop_for, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc
MONDAY_0030_NEW_YORK = datetime(2027, 3, 15, 4, 30, tzinfo=UTC)
NEW_YORK_MONDAY_5PM = datetime(2027, 3, 15, 21, 0, tzinfo=UTC)  # 09:00–17:00 EDT
INDIA_TUESDAY_10AM = datetime(2027, 3, 16, 4, 30, tzinfo=UTC)  # Monday 10:00–17:00 IST, Tuesday 09:00–10:00


@pytest.mark.parametrize("partner_zone, deadline, reason_says", [
    ("Asia/Calcutta", INDIA_TUESDAY_10AM, None),  # the old name of Asia/Kolkata
    ("US/Eastern", NEW_YORK_MONDAY_5PM, None),
    ("", NEW_YORK_MONDAY_5PM, None),  # none of its own: the org's, as documented
    ("Eastern Standard Time", NEW_YORK_MONDAY_5PM, "America/New_York"),  # a Windows name
    ("GMT+05:30", NEW_YORK_MONDAY_5PM, "America/New_York"),
    ("localtime", NEW_YORK_MONDAY_5PM, "America/New_York"),  # the host's, were it read
    ("☃", NEW_YORK_MONDAY_5PM, "America/New_York"),
], ids=["Asia/Calcutta", "US/Eastern", "empty", "Windows name", "offset", "localtime", "garbage"])
def test_every_offer_gets_a_sane_deadline_and_the_lead_names_the_zone_its_hours_counted_in(
        sandbox_factory, tmp_path, partner_zone, deadline, reason_says):
    sb = org_on_friday(sandbox_factory, partner_zone, MONDAY_0030_NEW_YORK)
    loop = loop_for(sb, tmp_path, "America/New_York")
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live
        for lead_id in live:
            lead = sb.org.get("Lead", lead_id)
            on_lead = parse_sf_datetime(lead["Offer_Deadline__c"])
            assert timedelta(0) <= on_lead - deadline < timedelta(minutes=1), (partner_zone, on_lead)
            reason = lead["Routing_Reason__c"]
            # the partner's field by its label, as the admin sees it on the Account, its value quoted
            assert "Time_Zone__c" not in reason, reason
            if reason_says:
                assert reason_says in reason and f'the partner\'s Time Zone "{partner_zone}" is no time zone' in reason, \
                    reason
            else:
                assert "Time Zone" not in reason, reason
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
