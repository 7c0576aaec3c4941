"""The follow-up of an accepted lead nobody worked, when Salesforce's answer to the
notification call is lost: it is not sent again, and the lead's Task says it may not
have gone out — not that it was not sent (the rep may well have it)."""
from __future__ import annotations

import pytest

from .test_lifecycle_e2e import ALWAYS_ACCEPT, NEVER_ANSWER, to_resellers

pytestmark = pytest.mark.e2e


def test_a_follow_up_whose_answer_is_lost_says_it_may_not_have_been_sent(org, make_loop):
    loop = make_loop(org, settings={"offers": {"followup_days": 3}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    first = to_resellers(loop)
    loop.cycle(hours=1)
    untouched = {lid for lid in first if loop.lead(lid)["Status"] == "Open - Not Contacted"}
    assert untouched
    org.simulator.set_profile("*", NEVER_ANSWER)
    before = len(org.notifications.all("customNotificationAction"))
    org.faults.plan("lost_answer", endpoint="customNotificationAction", count=20)
    loop.cycle(hours=3 * 24)
    sent = org.notifications.all("customNotificationAction")[before:]
    assert {n.inputs["targetId"] for n in sent} >= untouched, "the follow-ups went out, their answer lost"
    unsure = [t for t in org.org.records("Task") if t["Subject"] == "Follow-up reminder may not have been sent"]
    assert {t["WhoId"] for t in unsure} == untouched
    assert not [t for t in org.org.records("Task") if t["Subject"] == "Follow-up reminder not sent"]
    loop.cycle(hours=1)
    assert len(org.notifications.all("customNotificationAction")[before:]) == len(sent), "not sent again"
