"""An offer whose window is no longer than `reminder_before_hours` (a rule for hot leads with
two hours to answer, reminders four hours before): its reminder is due the moment it is
made. The offer alert going out then already gives the rep the deadline; a reminder on its
heels ("New lead for you", then "Lead offer expires soon" the same minute) pings the rep
twice for one offer. No reminder follows an alert sent when it was already due. Reps who
were never alerted (a pool without pool alerts) are still reminded."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox.simulator import Profile

from .conftest import Loop, build_connector, is_reminder
from .rules_for_tests import BASE, POOL, ROTATION

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
TWO_HOURS = BASE.replace("offer_hours = 24\n", "offer_hours = 2\n")


def reminders(org) -> Counter:
    return Counter(n.inputs["targetId"] for n in org.notifications.all("customNotificationAction")
                   if is_reminder(n.inputs["title"]))


@pytest.fixture
def short_loop(org, tmp_path):
    rules = tmp_path / "two_hours.toml"
    rules.write_text(TWO_HOURS + POOL.replace("offer_hours = 24", "offer_hours = 2") + ROTATION)
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules,
                         settings={"notifications": {"mode": "custom", "offer_alert": "custom"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    yield Loop(org, cx)
    cx.client.close()
    cx.store.dispose()


def test_an_offer_alerted_when_its_reminder_was_already_due_is_not_reminded_as_well(short_loop, org):
    first = short_loop.cycle()
    offers = {lead for lead, o in short_loop.live().items() if o["kind"] == "offer"}
    pools = {lead for lead, o in short_loop.live().items() if o["kind"] == "pool"}
    assert offers and pools
    assert not set(reminders(org)) & offers, "the alert gave the deadline a moment ago"
    assert first["remind"].counts["reminded_by_alert"] == len(offers)
    reminded = reminders(org)
    assert set(reminded) == pools, "a pool's members were never alerted (pool_alert unset): reminded"
    short_loop.cycle(hours=1, partners_act=False)
    assert reminders(org) == reminded, "nor later"
