"""Business-hours offer windows against the org, across the weekend clocks change: a
partner's own zone, or the org's (the rule file's `time_zone`) for a partner naming none.

Each org starts on Friday 12 March 2027 in its own time, whatever day the test runs;
the United States move to summer time on Sunday 14 March, so Monday's working hours are
an hour earlier in UTC than Friday's.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sandbox.simulator import Profile

from .conftest import Loop, build_connector
from .rules_for_tests import write_rules

pytestmark = pytest.mark.e2e

UTC = timezone.utc
NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def org_on_friday(sandbox_factory, partner_zone: str | None, now: datetime):
    sb = sandbox_factory(seed="demo", partners=40, leads=40, random_seed=3, start_at=now - timedelta(hours=1))
    for account in sb.org.records("Account"):
        if account.get("IsPartner"):
            sb.org.update("Account", account["Id"], {"Time_Zone__c": partner_zone})
    sb.clock.set(now)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    return sb


def loop_for(sb, tmp_path, org_zone: str | None = None) -> Loop:
    rules = write_rules(tmp_path, business_hours=True)
    if org_zone:
        rules.write_text(rules.read_text().replace("[settings]\n", f'[settings]\ntime_zone = "{org_zone}"\n', 1))
    return Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=rules))


def live_offers(loop: Loop) -> dict[str, dict]:
    out = {}
    for r in loop.sb.org.records("Lead"):
        if r.get("Routing_Status__c") == "Offered":
            history = loop.offers(r["Id"])
            if history and history[-1]["status"] == "live" and history[-1]["kind"] == "offer":
                out[r["Id"]] = history[-1]
    return out


@pytest.mark.parametrize("partner_zone, org_zone, friday_3pm, monday_3pm", [
    # a New York partner: Friday 15:00 EST, two hours left; Monday 09:00–15:00 EDT
    ("America/New_York", None, datetime(2027, 3, 12, 20, 0, tzinfo=UTC), datetime(2027, 3, 15, 19, 0, tzinfo=UTC)),
    # no zone of its own, in a Los Angeles org: Friday 15:00 PST; Monday 09:00–15:00 PDT
    (None, "America/Los_Angeles", datetime(2027, 3, 12, 23, 0, tzinfo=UTC), datetime(2027, 3, 15, 22, 0, tzinfo=UTC)),
], ids=["partner in New York", "org in Los Angeles"])
def test_eight_working_hours_from_friday_3pm_end_monday_3pm_local_after_the_clocks_go_forward(
        sandbox_factory, tmp_path, partner_zone, org_zone, friday_3pm, monday_3pm):
    sb = org_on_friday(sandbox_factory, partner_zone, friday_3pm)
    loop = loop_for(sb, tmp_path, org_zone)
    try:
        loop.cycle()
        live = live_offers(loop)
        assert live
        # (the org's clock runs on and each cycle steps two seconds: allow a minute)
        assert all(timedelta(0) <= o["deadline"] - monday_3pm < timedelta(minutes=1) for o in live.values()), \
            sorted({o["deadline"] for o in live.values()})
        sb.clock.set(monday_3pm - timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[-1]["status"] == "live" for lid in live), "not a minute early"
        sb.clock.set(monday_3pm + timedelta(minutes=5))
        loop.cycle()
        assert all(loop.offers(lid)[0]["status"] == "lapsed" for lid in live)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
