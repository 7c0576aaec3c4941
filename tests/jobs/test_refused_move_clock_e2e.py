"""A lead moving on from an offer whose next write Salesforce refuses, and whose move to the
escalation queue is refused too (or cannot be made: the queue is not in the org), is left
Unroutable with the rep who gave it up. Before, it kept the lapsed offer's Offered_At__c and
Offer_Deadline__c: the Lead showed a clock running on an offer nobody holds (the portal's
countdown, an org Flow reminding from the deadline). Now that clock is cleared with the
Unroutable status: only the move itself (owner, partner) is left out."""
from __future__ import annotations

import pytest

from .test_escalation_queue_gone_e2e import QUEUE, _admin
from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, answer_as_rep
from .test_refused_after_reject_e2e import REFUSED

pytestmark = pytest.mark.e2e


def _rejected_offer(org, loop) -> tuple[str, dict]:
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer")
    assert loop.lead(lead_id)["Offer_Deadline__c"]
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    return lead_id, offer


def _no_clock(loop, lead_id: str) -> None:
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Unroutable", lead
    assert lead["Routing_Reason__c"].startswith("Salesforce refused leadrouter's"), lead["Routing_Reason__c"]
    assert (lead["Offered_At__c"], lead["Offer_Deadline__c"]) == (None, None), "an offer clock on a lead nobody holds"
    assert lead_id not in loop.live()


def test_a_refused_move_to_the_escalation_queue_leaves_no_offer_clock_on_the_lead(org, loop):
    lead_id, offer = _rejected_offer(org, loop)
    org.faults.plan("record_failures", count=2, endpoint="PATCH composite/sobjects", code=REFUSED)
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["OwnerId"] == offer["rep_id"]  # the move itself was refused
    _no_clock(loop, lead_id)


def test_a_refused_write_with_no_escalation_queue_in_the_org_leaves_no_offer_clock_on_the_lead(org, loop):
    lead_id, offer = _rejected_offer(org, loop)
    org.org.delete("Group", loop.queue_id(QUEUE), as_user=_admin(org, loop))
    org.faults.plan("record_failures", count=1, endpoint="PATCH composite/sobjects", code=REFUSED)
    loop.cycle(partners_act=False)
    _no_clock(loop, lead_id)
