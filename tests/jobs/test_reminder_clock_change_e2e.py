"""A reminder due in the hour the clocks skip. A New York partner works round the clock
(workday [0, 24], every day); an offer made on Sunday 14 March 2027 at 00:30 EST for two
working hours ends at 03:30 EDT, the clocks having gone from 02:00 to 03:00 meanwhile. One
working hour before it is "02:30", a time the clock never shows that night: the rep is
reminded an hour before the deadline (01:30 EST), not at the deadline, when the offer
lapses and no reminder goes out at all. The org's clock is set; never today's date."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from .conftest import Loop, build_connector, is_reminder
from .rules_for_tests import BASE, ROTATION
from .test_business_hours_zones_e2e import live_offers, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc
SUNDAY_0030_EST = datetime(2027, 3, 14, 5, 30, tzinfo=UTC)
SUNDAY_0130_EST = datetime(2027, 3, 14, 6, 30, tzinfo=UTC)  # an hour before the deadline
SUNDAY_0330_EDT = datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # the deadline

ROUND_THE_CLOCK = BASE.replace(
    "offer_hours = 24\nbusiness_hours = false",
    "offer_hours = 2\nbusiness_hours = true\nworkday = [0, 24]\nweekdays = [0, 1, 2, 3, 4, 5, 6]",
).replace("[settings]\n", '[settings]\ntime_zone = "America/New_York"\n', 1)


def reminded(sb, lead_ids) -> set[str]:
    return {n.inputs["targetId"] for n in sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") in lead_ids and is_reminder(n.inputs["title"])}


def test_a_reminder_due_in_the_skipped_hour_comes_an_hour_before_the_deadline(sandbox_factory, tmp_path):
    sb = org_on_friday(sandbox_factory, "America/New_York", SUNDAY_0030_EST)
    rules = tmp_path / "round_the_clock.toml"
    rules.write_text(ROUND_THE_CLOCK + ROTATION)
    loop = Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=rules,
                                    settings={"offers": {"reminder_before_hours": 1},
                                              "schedule": {"offers": 600}}))
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live and all(timedelta(0) <= o["deadline"] - SUNDAY_0330_EDT < timedelta(minutes=1)
                            for o in live.values()), sorted({o["deadline"] for o in live.values()})
        sb.clock.set(SUNDAY_0130_EST - timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(), "not before one working hour is left"
        sb.clock.set(SUNDAY_0130_EST + timedelta(minutes=5))
        loop.cycle()
        assert reminded(sb, live) == set(live), "an hour before the deadline, not at it"
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
