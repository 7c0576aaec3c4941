"""An offer whose window is no longer than `reminder_before_hours` (a rule for hot leads with
two hours to answer, reminders four hours before): its reminder is due the moment it is
made. The offer alert going out then already gives the rep the deadline; a reminder on its
heels ("New lead for you", then "Lead offer expires soon" the same minute) pinged the rep
twice for one offer. Now the reminder comes halfway between the alert and the deadline,
counted as the window counts (working hours where it counts them), and none when less
than an hour is left after the alert. Reps who were never alerted (a pool without pool
alerts) are reminded at once, as the reminder is the first they hear."""
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


def test_an_offer_alerted_when_its_reminder_was_already_due_is_reminded_halfway_to_its_deadline(short_loop, org):
    short_loop.cycle()
    offers = {lead for lead, o in short_loop.live().items() if o["kind"] == "offer"}
    pools = {lead for lead, o in short_loop.live().items() if o["kind"] == "pool"}
    assert offers and pools
    assert not set(reminders(org)) & offers, "the alert gave the deadline a moment ago"
    assert set(reminders(org)) == pools, "a pool's members were never alerted (pool_alert unset): reminded"
    short_loop.cycle(hours=0.75, partners_act=False)
    assert not set(reminders(org)) & offers, "not yet: halfway is an hour after the alert"
    short_loop.cycle(hours=0.5, partners_act=False)
    reminded = reminders(org)
    assert {lead for lead in reminded if lead in offers} == offers, "halfway to the deadline: reminded"
    short_loop.cycle(hours=0.5, partners_act=False)
    assert reminders(org) == reminded, "once"


def test_a_window_with_less_than_an_hour_after_its_alert_gets_no_reminder(org, tmp_path):
    rules = tmp_path / "forty_five_minutes.toml"
    rules.write_text(BASE.replace("offer_hours = 24\n", "offer_hours = 0.75\n") + ROTATION)
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules,
                         settings={"notifications": {"mode": "custom", "offer_alert": "custom"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = Loop(org, cx)
    try:
        runs = [loop.cycle()]
        offers = {lead for lead, o in loop.live().items() if o["kind"] == "offer"}
        assert offers
        runs += [loop.cycle(hours=0.25, partners_act=False), loop.cycle(hours=0.25, partners_act=False)]
        assert not set(reminders(org)) & offers, "45 minutes to answer: the alert said the deadline"
        assert sum(r["remind"].counts.get("reminded_by_alert", 0) for r in runs if "remind" in r) == len(offers)
    finally:
        cx.client.close()
        cx.store.dispose()
