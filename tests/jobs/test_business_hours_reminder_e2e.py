"""The reminder of an offer whose window counts working hours comes that many working
hours before its deadline, in the partner's zone: an offer made on Friday 10:00 in New
York for eight working hours ends on Monday 10:00, and the rep is reminded on Friday at
14:00 (four working hours before), not on Monday at 06:00 with one working hour left."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from .conftest import is_reminder
from .test_business_hours_zones_e2e import live_offers, loop_for, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc
FRIDAY_10AM_NEW_YORK = datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
FRIDAY_2PM_NEW_YORK = datetime(2027, 3, 12, 19, 0, tzinfo=UTC)
MONDAY_10AM_NEW_YORK = datetime(2027, 3, 15, 14, 0, tzinfo=UTC)  # summer time since Sunday


def reminded(sb, lead_ids) -> set[str]:
    return {n.inputs["targetId"] for n in sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") in lead_ids and is_reminder(n.inputs["title"])}


def test_a_working_hours_offer_is_reminded_four_working_hours_before_its_deadline(sandbox_factory, tmp_path):
    sb = org_on_friday(sandbox_factory, "America/New_York", FRIDAY_10AM_NEW_YORK)
    loop = loop_for(sb, tmp_path)
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live and all(timedelta(0) <= o["deadline"] - MONDAY_10AM_NEW_YORK < timedelta(minutes=1)
                            for o in live.values())
        sb.clock.set(FRIDAY_2PM_NEW_YORK - timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(), "not before four working hours are left"
        sb.clock.set(FRIDAY_2PM_NEW_YORK + timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(live)
        sb.clock.set(MONDAY_10AM_NEW_YORK - timedelta(hours=4))  # the old wall-clock moment: nothing more
        loop.cycle()
        assert len([n for n in sb.notifications.all("customNotificationAction") if is_reminder(n.inputs["title"])
                    and n.inputs.get("targetId") in live]) == len(live)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
