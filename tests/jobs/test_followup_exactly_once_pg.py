"""A rep is followed up on an accepted lead once, even when two connectors overlap on
one PostgreSQL state.

The old leader reads the accepted leads nobody worked in its transaction; meanwhile the
standby, now leader, follows them up and commits. Marking each by its id then (as before)
succeeds again on PostgreSQL, and the rep is followed up twice: the follow-up is claimed
once per offer (`followup_at` still empty), and only the winner sends it. (On SQLite the
write lock taken at a transaction's start keeps the two apart already.)"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sandbox.simulator import Profile

from .conftest import Loop, build_connector
from .pg import temp_database
from .rules_for_tests import write_rules
from tests.emails import lead_of

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))
NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
SETTINGS = {"notifications": {"mode": "email"}, "offers": {"followup_days": 3}}


def followups(org) -> Counter:
    return Counter((lead_of(n), n.inputs["recipientId"])
                   for n in org.notifications.all("emailSimple")
                   if n.inputs["emailSubject"].startswith("Accepted lead not worked yet"))


def test_a_deposed_leader_that_read_the_untouched_leads_does_not_follow_them_up_again(org, tmp_path, monkeypatch):
    from jobs import followup
    from jobs.state import offers as of

    with temp_database() as url:
        rules = write_rules(tmp_path)
        old, standby = (Loop(org, build_connector(org, url, settings=SETTINGS, rules=rules)) for _ in range(2))
        try:
            org.simulator.set_profile("*", ALWAYS_ACCEPT)
            old.cycle(partners_act=False)
            old.cycle(hours=1)
            org.simulator.set_profile("*", NEVER_ANSWER)
            assert not followups(org)
            org.clock.advance(timedelta(days=3, hours=1))  # accepted 3 days ago, untouched: follow-ups due
            now = org.clock.now()

            read = of.accepted_untouched
            paused = []

            def old_leader_pauses_after_reading(*args, **kwargs):
                stale = read(*args, **kwargs)
                if not paused:  # the old leader has read them; the standby follows them up meanwhile
                    paused.append(True)
                    followup.run(standby.cx, now)
                return stale

            monkeypatch.setattr(of, "accepted_untouched", old_leader_pauses_after_reading)
            followup.run(old.cx, now)
            sent = followups(org)
            assert paused and sent
            assert max(followups(org).values()) == 1, (
                f"{sum(v - 1 for v in followups(org).values())} reps were followed up on the same lead twice")
        finally:
            for loop in (old, standby):
                loop.cx.client.close()
                loop.cx.store.dispose()
