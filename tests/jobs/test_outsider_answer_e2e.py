"""Only the offered partner answers its offer. A lead offered again to partner B is out of
reach of partner A's reps in an org with Salesforce's default sharing (the org refuses
their save); in an org that opened leads to every partner user, a save by a rep of a
partner the lead is not offered to is not taken as the partner's answer: the answer is
cleared, the owner put back, the offer stands, and the Lead and the log say so. Each
answer is sent over HTTPS with the rep's own session, as the portal, jsforce or the sf
CLI would send it."""
from __future__ import annotations

import pytest
import requests
from structlog.testing import capture_logs

from sandbox.simulator import Profile

from .conftest import as_user, pool_members_covering
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def save_as(sb, user_id: str, lead_id: str, fields: dict) -> requests.Response:
    """PATCH the Lead with `user_id`'s own session (no assignment rule, as the portal saves)."""
    http, base = as_user(sb, user_id)
    with http:
        return http.patch(f"{base}/sobjects/Lead/{lead_id}", json=fields, headers={"Sforce-Auto-Assign": "FALSE"},
                          timeout=10)


def an_offer(loop) -> tuple[str, dict]:
    return next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer")


def rep_elsewhere(sb, *not_partners: str) -> str:
    """An active rep of a partner other than these."""
    return next(u["Id"] for u in sorted(sb.org.table("User").values(), key=lambda u: u["Id"])
                if u["UserType"] == "PowerPartner" and u["IsActive"] and u["AccountId"] not in not_partners)


@pytest.fixture
def opened(org, loop):
    """An org whose sharing lets every partner user reach every lead, one live offer."""
    org.org.lead_sharing_external = "ReadWrite"
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    return an_offer(loop)


def test_a_rejection_by_another_partners_rep_is_not_the_offered_partners(org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    with capture_logs() as logs:
        loop.cycle(partners_act=False)
    assert loop.live()[lead_id]["id"] == offer["id"]  # the offer stands
    assert [o["status"] for o in loop.offers(lead_id)] == ["live"]
    lead = loop.lead(lead_id)
    assert (lead["Partner_Response__c"], lead["Rejection_Reason__c"]) == (None, None)
    assert (lead["PartnerAccountId"], lead["OwnerId"], lead["Routing_Status__c"]) == (
        offer["partner_id"], offer["rep_id"], "Offered")
    assert "by a rep of a partner this lead is not offered to was not taken; the offer stands" in lead["Routing_Reason__c"]
    [logged] = [e for e in logs if e["event"] == "answer_not_taken"]
    assert logged["log_level"] == "warning"
    assert (logged["saved_by"], logged["lead_id"], logged["offered_to"]) == (outsider, lead_id, offer["partner_id"])
    # the offered partner's own answer still counts
    assert save_as(org, offer["rep_id"], lead_id, ANSWERS["accept"]).status_code == 204
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["status"] == "accepted"
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"


def test_an_acceptance_by_another_partners_rep_taking_the_lead_is_put_back(org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    r = save_as(org, outsider, lead_id, {**ANSWERS["accept"], "OwnerId": outsider})
    assert r.status_code == 204, r.text
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Partner_Response__c"]) == (
        offer["rep_id"], offer["partner_id"], None)
    assert lead["Routing_Status__c"] == "Offered"
    assert loop.live()[lead_id]["id"] == offer["id"]
    assert "was not taken" in lead["Routing_Reason__c"]


def test_the_first_partners_rep_cannot_answer_a_lead_offered_on(org, loop):
    """Default sharing: once the lead is offered to the next partner, the rep who rejected
    it no longer reaches it; a late acceptance is refused by the org and changes nothing."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, first = an_offer(loop)
    assert save_as(org, first["rep_id"], lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    second = loop.live()[lead_id]
    assert second["partner_id"] != first["partner_id"]
    r = save_as(org, first["rep_id"], lead_id, ANSWERS["accept"])
    assert (r.status_code, r.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_OR_READONLY")
    loop.cycle(partners_act=False)
    assert loop.live()[lead_id]["id"] == second["id"]
    assert loop.lead(lead_id)["Partner_Response__c"] is None


def test_a_pool_lead_taken_by_a_rep_outside_the_pool_goes_back_to_the_pool(org, make_loop):
    loop = make_loop(org, pools=True)
    org.org.lead_sharing_external = "ReadWrite"
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, pooled = next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "pool")
    members = {loop.partner_of_rep(m["UserOrGroupId"]) for m in org.org.table("GroupMember").values()
               if m["GroupId"] == pooled["queue_id"] and not m["IsDeleted"]}  # fmt: skip
    outsider = rep_elsewhere(org, *members)
    r = save_as(org, outsider, lead_id, {**ANSWERS["accept"], "OwnerId": outsider})
    assert r.status_code == 204, r.text
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Partner_Response__c"]) == (pooled["queue_id"], None, None)
    assert lead["Routing_Status__c"] == "Offered"
    assert "was not taken; back in the pool" in lead["Routing_Reason__c"]
    assert loop.live()[lead_id]["id"] == pooled["id"]
    # a rep of a member the pool's rule admits still takes it
    member_rep = next(iter(pool_members_covering(loop, pooled["queue_id"], lead_id).values()))
    assert save_as(org, member_rep, lead_id, {"OwnerId": member_rep}).status_code == 204
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"


def test_an_outsiders_answer_read_through_a_bulk_job_is_not_taken_either(org, loop, opened):
    """The connector stopped for two hours and a large backlog read through a Bulk API 2.0
    query job: that read carries who saved each lead too, so the outsider's rejection is
    refused as the REST read refuses it (it was taken as the offered partner's)."""
    from .test_bulk_e2e import bulk_from

    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    bulk_from(loop, 1)
    run = loop.cycle(hours=2, partners_act=False)
    assert run["leads"].counts.get("bulk_read"), run["leads"].counts
    assert [o["status"] for o in loop.offers(lead_id)][0] == "live"
    lead = loop.lead(lead_id)
    assert (lead["PartnerAccountId"], lead["OwnerId"], lead["Partner_Response__c"]) == (
        offer["partner_id"], offer["rep_id"], None)
