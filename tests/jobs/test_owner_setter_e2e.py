"""Who took a lead, and who answered it, is who changed that field (LeadHistory's
CreatedById), not who saved the lead last (LastModifiedById). In an org that opened leads to
every partner user, a person of the org may give an offered lead to another partner's rep
who then edits it, or that rep may take it and a person of the org edit it after, before
the connector reads it; and a rep of another partner may reject a lead the offered partner
accepted, its own rep saving the lead after. Each save is sent over HTTPS with the user's
own session (the org's admin through the org's API)."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .test_outsider_answer_e2e import an_offer, rep_elsewhere, save_as
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


@pytest.fixture
def opened(org, loop):
    """An org whose sharing lets every partner user reach every lead, one live offer."""
    org.org.lead_sharing_external = "ReadWrite"
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    return an_offer(loop)


def test_a_lead_a_person_gave_to_another_partners_rep_is_a_takeover_though_that_rep_saved_it_last(
        org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    org.org.update("Lead", lead_id, {"OwnerId": outsider}, as_user=org.org.admin_user_id)
    assert save_as(org, outsider, lead_id, {"Title": "Head of Purchasing"}).status_code == 204
    assert org.org.get("Lead", lead_id)["LastModifiedById"] == outsider
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == outsider, "the person's choice of owner stands"
    assert lead_id not in loop.live()
    assert "taken over by a person" in (lead["Routing_Reason__c"] or ""), lead["Routing_Reason__c"]
    assert "was not taken" not in (lead["Routing_Reason__c"] or "")


def test_another_partners_rep_taking_the_lead_is_put_back_though_a_person_saved_it_last(org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, {"OwnerId": outsider}).status_code == 204
    org.org.update("Lead", lead_id, {"Title": "Head of Purchasing"}, as_user=org.org.admin_user_id)
    assert org.org.get("Lead", lead_id)["LastModifiedById"] == org.org.admin_user_id
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert loop.live()[lead_id]["id"] == offer["id"], "the offer stands"
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (
        offer["rep_id"], offer["partner_id"], "Offered")
    assert "was not taken; the offer stands" in lead["Routing_Reason__c"]


def test_an_outsiders_rejection_of_an_unconfirmed_acceptance_is_no_hand_back_though_the_partners_rep_saved_last(
        org, loop, opened):
    """The acceptance's write got no answer; before the connector reads it back a rep of
    another partner sets Rejected and the accepting partner's rep then works the lead. That
    Rejected is not the partner's hand-back: the acceptance stands and is sent again."""
    lead_id, offer = opened
    distributors = {a["Id"] for a in org.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}
    if offer["partner_id"] in distributors:  # a distributor's acceptance hands the lead down
        lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items())
                              if o["kind"] == "offer" and o["partner_id"] not in distributors)
    assert save_as(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Accepted"}).status_code == 204
    org.faults.plan("drop", count=50, endpoint="PATCH composite/sobjects")  # the acceptance's write: no answer
    loop.cycle(partners_act=False, raise_errors=False)
    org.faults.clear()
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered", "the write did not reach Salesforce"
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    assert save_as(org, offer["rep_id"], lead_id, {"Status": "Working - Contacted"}).status_code == 204
    assert org.org.get("Lead", lead_id)["LastModifiedById"] == offer["rep_id"]
    loop.cycle(partners_act=False)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["OwnerId"], lead["PartnerAccountId"]) == (
        "Accepted", offer["rep_id"], offer["partner_id"]), lead["Routing_Reason__c"]
    assert "handed back" not in (lead["Routing_Reason__c"] or "")
    assert loop.offers(lead_id)[0]["status"] == "accepted"
