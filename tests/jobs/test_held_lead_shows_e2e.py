"""What an admin sees on a held lead (its escalation held while the escalation queue is
not in the org): as on an escalated lead, nobody of the partner that gave it up holds it —
no longer owned by the rep who rejected it (leadrouter's integration user keeps it until
the queue is back), no partner account, no offer clock. Before, the rejecting rep still
owned it and the Lead still named the rejecting partner, so that partner's reps kept it in
the portal while the Lead said it waits for an escalation."""
from __future__ import annotations

import pytest

from jobs.lifecycle import HELD_RULE

from .test_escalation_queue_gone_e2e import QUEUE, _admin
from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, answer_as_rep

pytestmark = pytest.mark.e2e


def test_a_held_lead_is_off_the_rejecting_rep_and_partner_until_it_escalates(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    routed = {r["Id"]: loop.lead(r["Id"]) for r in org.org.records("Lead")}
    # a lead only one partner can take: when it rejects, the lead must escalate
    only_one = next(lid for lid, r in sorted(routed.items())
                    if r["Routing_Status__c"] == "Offered" and "; 1 eligible" in (r["Routing_Reason__c"] or ""))
    rep, partner = routed[only_one]["OwnerId"], routed[only_one]["PartnerAccountId"]
    assert partner and rep.startswith("005")
    org.org.delete("Group", loop.queue_id(QUEUE), as_user=_admin(org, loop))
    answer_as_rep(org, only_one, rep, ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(hours=1, partners_act=False)

    held = loop.lead(only_one)
    assert (held["Routing_Status__c"], held["Routing_Rule__c"]) == ("Unroutable", HELD_RULE), held
    assert held["OwnerId"] != rep, "still owned by the rep who rejected it"
    assert held["OwnerId"] == loop.cx.client.user_id  # leadrouter keeps it until the queue is back
    assert held["PartnerAccountId"] is None, "still names the partner that rejected it"
    assert (held["Offered_At__c"], held["Offer_Deadline__c"]) == (None, None)
    # nothing reads our own move as a person taking the lead over: it stays held
    loop.cycle(hours=1, partners_act=False)
    again = loop.lead(only_one)
    assert (again["Routing_Status__c"], again["Routing_Rule__c"]) == ("Unroutable", HELD_RULE), again

    from sandbox.bootstrap import add_queue

    queue_id = add_queue(org.org, QUEUE, "Channel Escalations")
    loop.cycle(hours=1, partners_act=False)
    lead = loop.lead(only_one)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (queue_id, None, "Escalated")
