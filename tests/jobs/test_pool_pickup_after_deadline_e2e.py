"""A pool's offer ends at its deadline by Salesforce's clock, as a pushed offer does: a
member's pick-up saved after it is not taken, though the connector reads it before it has
lapsed the pool's offer (it was down, or its lead stream ran before the expire job). When
the rep took the lead is read from Salesforce's own times (the owner's LeadHistory row; the
answer's, for an acceptance left in the queue) against the deadline."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .test_outsider_answer_e2e import save_as
from .test_pool_answers_e2e import pooled  # noqa: F401  (the fixture)
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e


def test_a_pick_up_saved_after_the_pools_deadline_is_a_lapse_not_an_acceptance(org, pooled):  # noqa: F811
    loop, lead_id, offer, (partner, rep), _ = pooled
    org.clock.set(offer["deadline"] + timedelta(minutes=20))  # the connector did not run meanwhile
    assert save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] != "Accepted" and lead["OwnerId"] != rep, lead
    assert lead["PartnerAccountId"] != partner and lead["Partner_Response__c"] is None, lead
    assert loop.offers(lead_id)[0]["status"] == "lapsed"
    # the Lead says why the pick-up did not stand (the lead moved on, or escalated: this org's next step)
    reason = lead["Routing_Reason__c"]
    assert ("offer 1 lapsed unanswered; a pick-up saved after it lapsed was not taken" in reason
            or "offer to the pool lapsed at" in reason and "a pick-up saved at" in reason), reason


def test_an_acceptance_in_the_field_after_the_pools_deadline_is_a_lapse(org, pooled):  # noqa: F811
    loop, lead_id, offer, (partner, rep), _ = pooled
    org.clock.set(offer["deadline"] + timedelta(minutes=5))
    assert save_as(org, rep, lead_id, ANSWERS["accept"]).status_code == 204  # the owner left on the queue
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] != "Accepted" and lead["OwnerId"] != rep, lead
    assert loop.offers(lead_id)[0]["status"] == "lapsed"


def test_a_pick_up_saved_before_the_pools_deadline_is_taken_though_read_after_it(org, pooled):  # noqa: F811
    loop, lead_id, offer, (partner, rep), _ = pooled
    org.clock.set(offer["deadline"] - timedelta(minutes=5))
    assert save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep}).status_code == 204
    org.clock.advance(timedelta(hours=2))  # the connector was down past the deadline
    assert save_as(org, rep, lead_id, {"Description": "called them"}).status_code == 204  # a later save
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (rep, partner, "Accepted")
    assert loop.offers(lead_id)[0]["status"] == "accepted"


def test_the_member_who_took_it_in_time_keeps_it_when_another_takes_it_after_the_deadline(org, pooled):  # noqa: F811
    loop, lead_id, offer, (first_partner, first), (_, second) = pooled
    org.clock.set(offer["deadline"] - timedelta(minutes=5))
    assert save_as(org, first, lead_id, {**ANSWERS["accept"], "OwnerId": first}).status_code == 204
    org.org.lead_sharing_external = "ReadWrite"  # an org whose sharing lets every member save it
    org.clock.set(offer["deadline"] + timedelta(minutes=30))
    assert save_as(org, second, lead_id, {**ANSWERS["accept"], "OwnerId": second}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (first, first_partner, "Accepted")


def test_a_state_rebuilt_after_a_late_pick_up_also_finds_the_pools_offer_lapsed(org, make_loop, pooled):  # noqa: F811
    """The state is a cache: one lost and rebuilt from the org reads the same Lead History,
    and the pick-up saved after the deadline is not taken there either."""
    loop, lead_id, offer, (partner, rep), _ = pooled
    org.clock.set(offer["deadline"] + timedelta(minutes=20))
    assert save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep}).status_code == 204
    fresh = make_loop(org, name="fresh", pools=True)  # the state file is gone
    fresh.cycle(partners_act=False)
    lead = fresh.lead(lead_id)
    assert lead["Routing_Status__c"] != "Accepted" and lead["OwnerId"] != rep, lead
    assert lead["PartnerAccountId"] != partner, lead


def test_a_state_rebuilt_after_a_pick_up_in_time_takes_it(org, make_loop, pooled):  # noqa: F811
    loop, lead_id, offer, (partner, rep), _ = pooled
    org.clock.set(offer["deadline"] - timedelta(minutes=5))
    assert save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep}).status_code == 204
    org.clock.advance(timedelta(hours=2))
    fresh = make_loop(org, name="fresh", pools=True)
    fresh.cycle(partners_act=False)
    lead = fresh.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (rep, partner, "Accepted")
