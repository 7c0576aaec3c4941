"""A pool lead's reminder goes to the members its alert would tell (jobs/alerts.py): a
member paused since (Routing_Paused__c: an admin's hold — holidays, a dispute) or at its
capacity is pushed nothing, and a reminder about a pool lead is a push. Its reps may still
pick the lead up from the queue's list view."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .conftest import is_reminder
from .test_pool_alerts_e2e import admitted_member_reps
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def reminded_partners(loop, lead_id: str) -> set[str]:
    return {loop.partner_of_rep(n.inputs["recipientId"]) for n in loop.sb.notifications.all("emailSimple")
            if lead_of(n) == lead_id and is_reminder(n.inputs["emailSubject"])}


@pytest.mark.parametrize("change", [{"Routing_Paused__c": True}, {"Capacity__c": 0}], ids=["paused", "at capacity"])
def test_a_member_held_back_since_the_pool_lead_was_offered_is_not_reminded_of_it(org, make_loop, change):
    loop = make_loop(org, pools=True, settings={"notifications": {"mode": "email", "pool_alert": "members"}})
    queue = loop.queue_id("Partner_Pool_NA")
    shared = [(lead["Id"], m) for lead in org.org.records("Lead") if lead.get("Country") in ("US", "CA", "MX")
              and len(m := admitted_member_reps(loop, queue, lead["Id"])) >= 2]
    assert shared, "the seeded org has North American leads several members cover"
    lead_id, members = shared[0]
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    assert loop.live()[lead_id]["queue_id"] == queue
    held, *others = sorted(members)
    org.org.update("Account", held, change)
    loop.cycle(hours=21, partners_act=False)  # the partner sync reads the hold; the reminder is due
    reminded = reminded_partners(loop, lead_id)
    assert reminded, "the pool's other members were reminded"
    assert held not in reminded, f"a member {next(iter(change))} was reminded of a pool lead"
    assert reminded == set(others)
