"""An offer's window is counted in the calendar it was promised in: the partner's zone and
working days at the time of the offer, kept with the offer (in the state, and on the Lead
as Offer_Calendar__c). A partner whose Account moves to another zone while the offer is
open (an admin correcting Time_Zone__c from New York to Tokyo) is reminded when the window
it was promised says, not at a moment counted in its new zone — and so after a lost state,
rebuilt from the org. Each org starts on Friday 12 March 2027, whatever day the test runs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.ops.explain import timeline

from .conftest import Loop, build_connector, is_reminder
from .rules_for_tests import write_rules
from .test_business_hours_zones_e2e import live_offers, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc
FRIDAY_10AM_NEW_YORK = datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
FRIDAY_2PM_NEW_YORK = datetime(2027, 3, 12, 19, 0, tzinfo=UTC)  # four working hours before the deadline
MONDAY_10AM_NEW_YORK = datetime(2027, 3, 15, 14, 0, tzinfo=UTC)  # eight working hours on (summer time)
NEW_YORK_WEEK = "America/New_York; Mon Tue Wed Thu Fri; 09:00-17:00"


def reminded(sb, lead_ids) -> set[str]:
    return {n.inputs["targetId"] for n in sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") in lead_ids and is_reminder(n.inputs["title"])}


def move_partners(sb, zone: str) -> None:
    for account in sb.org.records("Account"):
        if account.get("IsPartner"):
            sb.org.update("Account", account["Id"], {"Time_Zone__c": zone})


def connect(sb, tmp_path, name: str) -> Loop:
    return Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/{name}.sqlite",
                                    rules=write_rules(tmp_path, business_hours=True)))


@pytest.mark.parametrize("state_lost", [False, True], ids=["state kept", "state rebuilt from the org"])
def test_a_partner_moved_to_another_zone_is_reminded_as_its_offer_was_promised(sandbox_factory, tmp_path, state_lost):
    sb = org_on_friday(sandbox_factory, "America/New_York", FRIDAY_10AM_NEW_YORK)
    loop = connect(sb, tmp_path, "state")
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live and all(timedelta(0) <= o["deadline"] - MONDAY_10AM_NEW_YORK < timedelta(minutes=1)
                            for o in live.values())
        assert {sb.org.get("Lead", lid)["Offer_Calendar__c"] for lid in live} == {NEW_YORK_WEEK}
        lead_id = next(iter(live))
        assert f"working hours of {NEW_YORK_WEEK}" in "\n".join(timeline([], loop.offers(lead_id), _Names()))
        move_partners(sb, "Asia/Tokyo")  # while the offers are open
        if state_lost:
            loop.cx.client.close()
            loop.cx.store.dispose()
            loop = connect(sb, tmp_path, "fresh")
        sb.clock.set(FRIDAY_2PM_NEW_YORK - timedelta(minutes=5))
        loop.cycle(partners_act=False)
        assert reminded(sb, live) == set(), "not before four working hours of the promised window are left"
        assert loop.cx.routing().partners[next(iter(live.values()))["partner_id"]].time_zone == "Asia/Tokyo"
        sb.clock.set(FRIDAY_2PM_NEW_YORK + timedelta(minutes=5))
        loop.cycle(partners_act=False)
        assert reminded(sb, live) == set(live), "four working hours before the deadline, in New York's week"
        sb.clock.set(MONDAY_10AM_NEW_YORK - timedelta(minutes=5))
        loop.cycle(partners_act=False)
        assert all(loop.offers(lid)[-1]["status"] == "live" for lid in live), "the deadline does not move"
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


class _Names:
    def partner(self, pid):
        return pid

    def owner(self, oid):
        return oid
