"""Answers to a pool lead, given in the response field by the pool members' reps with
their own sessions over HTTPS (the offer component's fields, or a page layout without
it). Every member reads the same Lead, and the offer component offers a lead only while
Partner_Response__c is empty: one member's answer must not shut the others out."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .conftest import is_reminder, pool_members_covering
from .test_outsider_answer_e2e import save_as
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


@pytest.fixture
def pooled(org, make_loop):
    """A live pool offer and one active rep of each of two member partners the pool's rule admits."""
    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    for lead_id, offer in sorted(loop.live().items()):
        if offer["kind"] != "pool":
            continue
        reps = pool_members_covering(loop, offer["queue_id"], lead_id)
        if len(reps) >= 2:
            first, second = sorted(reps.items())[:2]
            return loop, lead_id, offer, first, second
    pytest.skip("no pool lead two member partners are admitted for in this org")


def test_a_members_rejection_leaves_the_pool_lead_to_the_others(org, pooled):
    loop, lead_id, offer, (declined_partner, decliner), (_, taker) = pooled
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    # the answer is cleared, its code too: the other members' component offers the lead again
    assert (lead["Partner_Response__c"], lead["Rejection_Reason__c"], lead["Rejection_Reason_Code__c"]) == (
        None, None, None)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (offer["queue_id"], "Offered")
    assert "a partner of the pool declined it" in lead["Routing_Reason__c"]
    assert loop.live()[lead_id]["id"] == offer["id"]
    # the partner that declined does not get it after all: its pick-up is undone
    assert save_as(org, decliner, lead_id, {**ANSWERS["accept"], "OwnerId": decliner}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["Partner_Response__c"]) == (offer["queue_id"], None)
    # another member takes it with the component's Accept
    assert save_as(org, taker, lead_id, {**ANSWERS["accept"], "OwnerId": taker}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (taker, "Accepted")
    assert lead["PartnerAccountId"] == loop.partner_of_rep(taker) != declined_partner


def test_an_acceptance_in_the_field_takes_the_pool_lead_for_the_rep(org, pooled):
    """A page layout without the component: the rep sets Partner Response to Accepted and
    leaves the owner; the lead becomes that rep's, not lapsed away from them later."""
    loop, lead_id, offer, (partner, rep), _ = pooled
    assert save_as(org, rep, lead_id, ANSWERS["accept"]).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (rep, partner, "Accepted")
    assert loop.offers(lead_id)[0]["status"] == "accepted"


def test_the_pool_reminder_skips_the_partner_that_declined(org, pooled):
    loop, lead_id, offer, (_, decliner), (other_partner, _) = pooled
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    hours_left = (offer["deadline"] - org.clock.now()).total_seconds() / 3600
    loop.cycle(hours=hours_left - 1, partners_act=False)  # inside the reminder window
    reminders = [n for n in org.notifications.all("customNotificationAction")
                 if n.inputs.get("targetId") == lead_id and is_reminder(n.inputs["title"])]  # one per zone and language
    told = {loop.partner_of_rep(r) for n in reminders for r in n.inputs["recipientIds"]}
    assert other_partner in told and loop.partner_of_rep(decliner) not in told
