"""A partner that works round the clock (workday [0, 24], every day) across the nights the
clocks change: 24 working hours are 24 hours, as with business_hours = false — the hour the
clocks skip is worked by nobody, the one they repeat passes twice. What the Lead carries
(Offer_Deadline__c) and when the offer lapses. The org's clock is set; never today's date."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.timeutil import parse_sf_datetime

from .conftest import Loop, build_connector
from .rules_for_tests import BASE, ROTATION
from .test_business_hours_zones_e2e import live_offers, org_on_friday

pytestmark = pytest.mark.e2e

UTC = timezone.utc

ROUND_THE_CLOCK = BASE.replace(
    "offer_hours = 24\nbusiness_hours = false",
    "offer_hours = 24\nbusiness_hours = true\nworkday = [0, 24]\nweekdays = [0, 1, 2, 3, 4, 5, 6]",
)


@pytest.mark.parametrize("partner_zone, saturday_noon", [
    ("America/New_York", datetime(2027, 3, 13, 17, 0, tzinfo=UTC)),  # Sunday 02:00 → 03:00
    ("Europe/Berlin", datetime(2027, 10, 30, 10, 0, tzinfo=UTC)),  # Sunday 03:00 → 02:00
    ("Australia/Sydney", datetime(2027, 10, 2, 2, 0, tzinfo=UTC)),  # Sunday 02:00 → 03:00, the southern spring
], ids=["New York spring", "Berlin autumn", "Sydney spring"])
def test_twenty_four_working_hours_round_the_clock_are_twenty_four_hours_across_the_change(
        sandbox_factory, tmp_path, partner_zone, saturday_noon):
    sb = org_on_friday(sandbox_factory, partner_zone, saturday_noon)
    rules = tmp_path / "round_the_clock.toml"
    rules.write_text(ROUND_THE_CLOCK + ROTATION)
    loop = Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=rules))
    due = saturday_noon + timedelta(hours=24)
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live
        for lead_id in live:
            on_lead = parse_sf_datetime(sb.org.get("Lead", lead_id)["Offer_Deadline__c"])
            assert timedelta(0) <= on_lead - due < timedelta(minutes=1), (partner_zone, on_lead)
        sb.clock.set(due - timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[-1]["status"] == "live" for lid in live), "not an hour early"
        sb.clock.set(due + timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[0]["status"] == "lapsed" for lid in live), "nor an hour late"
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
