"""A partner's rep saving the lead through the API the way most clients do — jsforce's
`update()`, a plain REST PATCH — sends no `Sforce-Auto-Assign` header, and Salesforce's
REST API then runs the org's active lead assignment rule on the update too: the lead
moves to the rule's queue in the very save that carried the rep's answer.

That move is Salesforce's, not a person taking the lead over (LeadHistory marks it
`ownerAssignment`, where a person's change is `Owner`). The rep's answer stands — a
rejection moves the lead on, an acceptance gives it to the rep — and a save without an
answer gets its owner put back, the offer running on; the Lead says what happened."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .conftest import as_user, pool_members_covering

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def api_save(sb, user_id: str, lead_id: str, fields: dict) -> None:
    """PATCH as the rep with no Sforce-Auto-Assign header: Salesforce's default applies."""
    http, base = as_user(sb, user_id)
    with http:
        r = http.patch(f"{base}/sobjects/Lead/{lead_id}", json=fields, timeout=10)
    assert r.status_code == 204, r.text


@pytest.fixture
def offered(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offers = sorted((lid, o) for lid, o in loop.live().items() if o["kind"] == "offer")
    assert len(offers) >= 3
    return offers


def moved_by_the_rule(org, lead_id: str) -> bool:
    inside_sales = org.org.queue_ids["Inside_Sales"]
    return org.org.get("Lead", lead_id)["OwnerId"] == inside_sales


def test_a_rejection_saved_through_the_api_moves_the_lead_on_though_the_assignment_rule_ran(org, loop, offered):
    lead_id, offer = offered[0]
    api_save(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Rejected",
                                             "Rejection_Reason_Code__c": "Not our product/industry",
                                             "Rejection_Reason__c": "we do not sell this"})
    assert moved_by_the_rule(org, lead_id), "the sandbox runs the org's assignment rule, as Salesforce does"
    loop.cycle(partners_act=False)
    history = loop.offers(lead_id)
    # the code the rep picked heads the reason (feedback counts a 'Not our product/industry')
    assert history[0]["status"] == "rejected" and history[0]["close_reason"] == (
        "Not our product/industry: we do not sell this")
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] in ("Offered", "Escalated"), lead["Routing_Reason__c"]
    assert lead["Routing_Status__c"] != "Released"
    if lead["Routing_Status__c"] == "Offered":
        assert history[1]["partner_id"] != offer["partner_id"] and lead["OwnerId"] == history[1]["rep_id"]


def test_an_acceptance_saved_through_the_api_gives_the_lead_to_the_rep_though_the_assignment_rule_ran(
        org, loop, offered):
    lead_id, offer = next((lid, o) for lid, o in offered if not _distributor(org, o["partner_id"]))
    api_save(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Accepted"})
    assert moved_by_the_rule(org, lead_id)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Accepted" and lead["OwnerId"] == offer["rep_id"]
    assert lead["PartnerAccountId"] == offer["partner_id"]
    assert loop.offers(lead_id)[0]["status"] == "accepted"


def test_an_edit_without_an_answer_gets_its_owner_back_and_the_offer_runs_on(org, loop, offered):
    lead_id, offer = offered[-1]
    api_save(org, offer["rep_id"], lead_id, {"Phone": "+1 415 555 0100"})
    assert moved_by_the_rule(org, lead_id)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == offer["rep_id"] and lead["Routing_Status__c"] == "Offered"
    assert lead["PartnerAccountId"] == offer["partner_id"]
    assert "assignment rule" in lead["Routing_Reason__c"], lead["Routing_Reason__c"]
    [live] = [o for o in loop.offers(lead_id) if o["status"] == "live"]
    assert live["id"] == offer["id"], "the same offer runs on"
    # and the rep's answer after it is taken as any answer
    api_save(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Rejected", "Rejection_Reason__c": "no"})
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["status"] == "rejected"


def test_a_person_of_the_org_moving_the_lead_is_still_a_takeover(org, loop, offered):
    """Only the offered partner's own save is Salesforce's doing: an admin's owner change
    (even by the same assignment rule, run from the UI) is a person taking the lead over."""
    lead_id, _ = offered[1]
    api_save(org, org.org.admin_user_id, lead_id, {"Phone": "+1 415 555 0101"})
    assert moved_by_the_rule(org, lead_id)
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Released"


def _distributor(org, partner_id: str) -> bool:
    return org.org.get("Account", partner_id).get("Partner_Role__c") == "Distributor"


def test_an_accepted_leads_edit_through_the_api_gets_its_owner_back(org, loop, offered):
    lead_id, offer = next((lid, o) for lid, o in offered if not _distributor(org, o["partner_id"]))
    api_save(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Accepted"})
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"
    api_save(org, offer["rep_id"], lead_id, {"Phone": "+1 415 555 0102"})
    assert moved_by_the_rule(org, lead_id)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Accepted" and lead["OwnerId"] == offer["rep_id"]
    assert "assignment rule" in lead["Routing_Reason__c"]


def test_a_pool_members_acceptance_through_the_api_gives_it_the_lead_though_the_rule_ran(org, make_loop):
    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    pooled = sorted((lid, o) for lid, o in loop.live().items() if o["kind"] == "pool")
    assert pooled, "the pool rules put some leads in a pool"
    lead_id, offer = pooled[0]
    member = next(iter(pool_members_covering(loop, offer["queue_id"], lead_id).values()))  # one the rule admits
    api_save(org, member, lead_id, {"Partner_Response__c": "Accepted"})
    assert moved_by_the_rule(org, lead_id)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Accepted" and lead["OwnerId"] == member
    assert lead["PartnerAccountId"] == loop.partner_of_rep(member)
