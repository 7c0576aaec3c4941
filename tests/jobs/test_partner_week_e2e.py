"""A partner that works Sunday to Thursday (Account.Working_Days__c, as in the UAE or
Israel) has its offers' working hours, reminders and lapses counted on its own week, not
the org's Monday to Friday; `explain` says whose week applied. Each org starts on
Thursday 10 June 2027, 10:00 in Dubai (no summer time), whatever day the test runs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.ops.explain import what_if

from .conftest import is_reminder
from .test_business_hours_zones_e2e import live_offers, loop_for, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc
THURSDAY_10AM_DUBAI = datetime(2027, 6, 10, 6, 0, tzinfo=UTC)
THURSDAY_2PM_DUBAI = datetime(2027, 6, 10, 10, 0, tzinfo=UTC)  # four working hours before the deadline
SUNDAY_10AM_DUBAI = datetime(2027, 6, 13, 6, 0, tzinfo=UTC)  # seven hours on Thursday, one on Sunday
SUN_TO_THU = "Sunday;Monday;Tuesday;Wednesday;Thursday"


def reminded(sb, lead_ids) -> set[str]:
    return {n.inputs["targetId"] for n in sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") in lead_ids and is_reminder(n.inputs["title"])}


def test_a_sunday_to_thursday_partner_is_reminded_on_thursday_and_its_offer_lapses_on_sunday(
        sandbox_factory, tmp_path):
    sb = org_on_friday(sandbox_factory, "Asia/Dubai", THURSDAY_10AM_DUBAI)
    for account in sb.org.records("Account"):
        if account.get("IsPartner"):
            sb.org.update("Account", account["Id"], {"Working_Days__c": SUN_TO_THU})
    loop = loop_for(sb, tmp_path)
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live and all(timedelta(0) <= o["deadline"] - SUNDAY_10AM_DUBAI < timedelta(minutes=1)
                            for o in live.values()), sorted({o["deadline"] for o in live.values()})
        sb.clock.set(THURSDAY_2PM_DUBAI - timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(), "not before four working hours are left"
        sb.clock.set(THURSDAY_2PM_DUBAI + timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(live), "on Thursday, the partner's last working day before Sunday"
        sb.clock.set(SUNDAY_10AM_DUBAI - timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[-1]["status"] == "live" for lid in live), "not on the org's Friday"
        sb.clock.set(SUNDAY_10AM_DUBAI + timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[0]["status"] == "lapsed" for lid in live)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_explain_says_whose_working_week_the_window_counts(sandbox_factory, tmp_path):
    sb = org_on_friday(sandbox_factory, "Asia/Dubai", THURSDAY_10AM_DUBAI)
    accounts = [a for a in sb.org.records("Account") if a.get("IsPartner")]
    for account in accounts:
        sb.org.update("Account", account["Id"], {"Working_Days__c": SUN_TO_THU})
    loop = loop_for(sb, tmp_path)
    try:
        loop.cycle()
        decision = next(d for d in _decisions(loop) if d.get("kind") == "offer" and d.get("partner_id"))
        lines = "\n".join(what_if({"kind": "offer", "explanation": decision["explanation"]}, _Names()))
        assert "Window:   8 working hours, Asia/Dubai; Sun Mon Tue Wed Thu; 09:00-17:00 " \
               "(the partner's Working_Days__c)" in lines, lines
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


class _Names:
    def partner(self, pid):
        return pid


def _decisions(loop):
    from sqlalchemy import select

    from jobs.state.schema import decisions

    with loop.cx.store.connect() as conn:
        return [dict(r._mapping)["decision"] for r in conn.execute(select(decisions))]
