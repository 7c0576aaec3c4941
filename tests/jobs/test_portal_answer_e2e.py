"""The partner's answer from the portal component, end to end: the offered rep sends
exactly the fields the Lead Offer Response component writes (its Jest tests check the
same file), over HTTPS with the rep's own session, and the connector acts on them:
an acceptance is kept, a rejection moves the lead on and the reason is kept in words."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.simulator import Profile

from .conftest import as_user

pytestmark = pytest.mark.e2e

ANSWERS = json.loads((Path(__file__).resolve().parents[2] / "salesforce/force-app/main/default/lwc/"
                      "leadOfferResponse/__tests__/data/answers.json").read_text())  # fmt: skip
NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def answer_as_rep(sb, lead_id: str, rep_id: str, fields: dict) -> None:
    """PATCH the Lead as the rep, the way the component's updateRecord reaches the org."""
    http, base = as_user(sb, rep_id)
    with http:
        # the component saves through Lightning's UI API, which runs no lead assignment
        # rule; the REST API does unless told not to
        r = http.patch(f"{base}/sobjects/Lead/{lead_id}", json=fields, headers={"Sforce-Auto-Assign": "FALSE"},
                       timeout=10)
    assert r.status_code == 204, r.text


def an_offer(loop) -> tuple[str, dict]:
    return next((lid, o) for lid, o in loop.live().items() if o["kind"] == "offer")


def test_a_rejection_from_the_component_moves_the_lead_on_and_keeps_the_reason(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    assert loop.lead(lead_id)["LastModifiedById"] == offer["rep_id"]
    loop.cycle(partners_act=False)
    first = loop.offers(lead_id)[0]
    assert first["status"] == "rejected"
    assert "Out of territory: We only cover Bavaria" in first["close_reason"]
    lead = loop.lead(lead_id)
    assert lead["PartnerAccountId"] != offer["partner_id"]
    assert lead["Partner_Response__c"] is None  # the next partner starts clean


def test_an_acceptance_from_the_component_is_kept(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["status"] == "accepted"
    lead = loop.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["OwnerId"]) == ("Accepted", offer["rep_id"])


def test_a_hand_back_from_the_component_moves_the_accepted_lead_on_with_the_reason(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["hand_back_no_capacity"]["fields"])
    loop.cycle(partners_act=False)
    first = loop.offers(lead_id)[0]
    assert (first["status"], first["close_reason"]) == (
        "rejected", "handed back after accepting: No capacity: Two of our reps left")
    lead = loop.lead(lead_id)
    assert lead["PartnerAccountId"] != offer["partner_id"] and lead["Partner_Response__c"] is None


def test_a_pool_lead_taken_with_salesforces_accept_is_handed_back_from_the_component(org, make_loop):
    # the queue's own Accept only makes the rep the owner (no answer in the field); the
    # component's hand-back on it is a rejection by the holding partner's rep, as any other
    from .conftest import pool_members_covering

    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(partners_act=False)
    lead_id = sorted(lid for lid, o in loop.live().items() if o["kind"] == "pool")[0]
    pool = loop.offers(lead_id)[-1]["queue_id"]
    partner, rep = next(iter(pool_members_covering(loop, pool, lead_id).items()))
    answer_as_rep(org, lead_id, rep, {"OwnerId": rep})  # Salesforce's Accept: the rep takes it
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["OwnerId"], lead["Partner_Response__c"]) == ("Accepted", rep, None)
    answer_as_rep(org, lead_id, rep, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Existing customer",
                                      "Rejection_Reason__c": "Existing customer"})
    loop.cycle(partners_act=False)
    taken = [o for o in loop.offers(lead_id) if o.get("partner_id") == partner or o["kind"] == "pool"][0]
    assert (taken["status"], taken["close_reason"]) == ("rejected", "handed back after accepting: Existing customer")
    assert loop.lead(lead_id)["OwnerId"] != rep
