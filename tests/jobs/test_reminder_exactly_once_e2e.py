"""A rep is reminded of an offer once, even when two connectors overlap on one state.

Active/standby handover, or an old leader paused mid-run that wakes after the standby took
over: both read the same offers as due for their reminder. The leader lock is no guard
once the old leader is past it; the reminder is claimed once per offer in the state, as
the alert is (jobs/alerts.py), and only the connector that claimed it sends it."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def reminders(org) -> Counter:
    return Counter((lead_of(n), n.inputs["recipientId"])
                   for n in org.notifications.all("emailSimple")
                   if n.inputs["emailSubject"].startswith("Lead offer expires soon"))


def test_a_deposed_leader_that_read_the_due_reminders_does_not_send_them_again(org, make_loop, monkeypatch):
    from jobs import remind
    from jobs.state import offers as of

    old = make_loop(org, settings={"notifications": {"mode": "email"}})
    standby = make_loop(org, settings={"notifications": {"mode": "email"}}, name="state")  # the same state
    assert str(old.cx.store.engine.url) == str(standby.cx.store.engine.url)
    org.simulator.set_profile("*", NEVER_ANSWER)
    old.cycle()
    live = {lid for lid, o in old.live().items() if o["kind"] == "offer"}
    assert live
    org.clock.advance(timedelta(hours=21))  # 24-hour window, reminders 4 hours before: due now
    now = org.clock.now()

    read = of.offers_to_remind
    paused = []

    def old_leader_pauses_after_reading(*args, **kwargs):
        due = read(*args, **kwargs)
        if not paused:  # the old leader has read them; the standby, now leader, reminds meanwhile
            paused.append(True)
            remind.run(standby.cx, now)
        return due

    monkeypatch.setattr(of, "offers_to_remind", old_leader_pauses_after_reading)
    counts = remind.run(old.cx, now)
    sent = reminders(org)
    assert sent and {lead for lead, _ in sent} <= live
    assert max(sent.values()) == 1, f"{sum(v - 1 for v in sent.values())} reps were reminded of the same offer twice"
    assert not counts.get("reminded"), counts
