"""The partner's answer from the portal component, end to end: the offered rep sends
exactly the fields the Lead Offer Response component writes (its Jest tests check the
same file), over HTTPS with the rep's own session, and the connector acts on them:
an acceptance is kept, a rejection moves the lead on and the reason is kept in words."""
from __future__ import annotations

import json
import re
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


COMPONENT = (Path(__file__).resolve().parents[2] / "salesforce/force-app/main/default/lwc/"
             "leadOfferResponse/leadOfferResponse.js").read_text()
# the error codes the component reads as "this lead is no longer yours" (its NOT_YOURS)
NOT_YOURS = json.loads(re.search(r"const NOT_YOURS = (\[[^\]]*\]);", COMPONENT).group(1).replace("'", '"'))


def save_as_component(sb, lead_id: str, rep_id: str, fields: dict):
    """The component's save: Lightning Data Service's updateRecord, PATCH ui-api/records/{id}."""
    http, base = as_user(sb, rep_id)
    with http:
        return http.patch(f"{base}/ui-api/records/{lead_id}", json={"fields": fields}, timeout=10)


def test_the_loser_of_a_pool_race_is_refused_with_a_code_the_component_reads_as_taken_first(org, make_loop):
    from .conftest import pool_members_covering

    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(partners_act=False)
    for lead_id in sorted(lid for lid, o in loop.live().items() if o["kind"] == "pool"):
        members = pool_members_covering(loop, loop.offers(lead_id)[-1]["queue_id"], lead_id)
        if len(members) >= 2:
            break
    else:
        pytest.skip("no pool lead two members cover")
    first, second = list(members.values())[:2]
    assert save_as_component(org, lead_id, first, {**ANSWERS["accept"], "OwnerId": first}).status_code == 200
    lost = save_as_component(org, lead_id, second, {**ANSWERS["accept"], "OwnerId": second})
    assert lost.status_code in (400, 403, 404) and lost.json()[0]["errorCode"] in NOT_YOURS, lost.text


def test_a_rep_whose_offer_moved_on_is_refused_with_a_code_the_component_reads_as_no_longer_theirs(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    loop.cycle(hours=30, partners_act=False)  # the offer lapses; the lead goes to the next partner
    assert loop.lead(lead_id)["OwnerId"] != offer["rep_id"]
    late = save_as_component(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    assert late.status_code in (400, 403, 404) and late.json()[0]["errorCode"] in NOT_YOURS, late.text
