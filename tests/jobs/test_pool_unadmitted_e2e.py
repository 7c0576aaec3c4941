"""A pool is offered a lead for the members its rule admits for that lead. Every member's
rep reaches the queue's leads, so a rep of a member the rule does not admit (covering
elsewhere, not certified, another partner's registered deal, at its cap…) can take one:
that pick-up is refused as an outsider's is — the lead goes back to the pool with the
answer cleared, the Lead says why, and the log names the partner and why. Each pick-up
is sent over HTTPS with the rep's own session, as the portal's Accept sends it."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile

from .test_outsider_answer_e2e import save_as
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
NA = ("US", "CA", "MX")


def _coverage(account: dict) -> list[str]:
    return [c.strip() for c in (account.get("Coverage__c") or "").split(";") if c.strip()]


def _active_rep(sb, account_id: str) -> str:
    return next(u["Id"] for u in sorted(sb.org.table("User").values(), key=lambda u: u["Id"])
                if u["AccountId"] == account_id and u["IsActive"] and u["UserType"] == "PowerPartner")


@pytest.fixture
def pooled(org, make_loop):
    """A rep of a partner covering none of North America made a member of its pool (the
    queue an admin keeps by hand), and a live pool offer of a lead in a country a member
    covers whole."""
    sb = org.org
    queue = sb.queue_ids["Partner_Pool_NA"]
    elsewhere = next(a for a in sorted(sb.table("Account").values(), key=lambda a: a["Id"])
                     if a.get("IsPartner") and _coverage(a) and not any(c[:2] in NA for c in _coverage(a)))
    outsider_rep = _active_rep(org, elsewhere["Id"])
    sb.create("GroupMember", {"GroupId": queue, "UserOrGroupId": outsider_rep}, as_user=sb.integration_user_id)
    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    members = {sb.get("User", m["UserOrGroupId"])["AccountId"] for m in sb.table("GroupMember").values()
               if m["GroupId"] == queue and not m["IsDeleted"]}  # fmt: skip
    for lead_id, offer in sorted(loop.live().items()):
        country = (sb.get("Lead", lead_id).get("Country") or "").strip()
        covering = sorted(p for p in members if country in _coverage(sb.get("Account", p)))
        if offer["kind"] == "pool" and offer["queue_id"] == queue and covering:
            return loop, lead_id, offer, (elsewhere["Id"], outsider_rep), _active_rep(org, covering[0])
    pytest.skip("no North American pool lead in a country a member covers whole")


def test_a_pool_lead_taken_by_a_member_the_rule_does_not_admit_goes_back_to_the_pool(org, pooled):
    loop, lead_id, offer, (partner, rep), admitted_rep = pooled
    r = save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep})
    assert r.status_code == 204, r.text  # a member reaches the queue's leads: Salesforce lets it
    with capture_logs() as logs:
        loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Partner_Response__c"]) == (offer["queue_id"], None, None)
    assert lead["Routing_Status__c"] == "Offered"
    assert loop.live()[lead_id]["id"] == offer["id"]  # the pool offer stands
    why = lead["Routing_Reason__c"]
    assert "North America pool" in why and "does not admit" in why and "back in the pool" in why, why
    assert "cover" in why, why  # the criterion the partner fails
    [logged] = [e for e in logs if e["event"] == "pickup_refused_not_admitted"]
    assert (logged["partner_id"], logged["taken_by"], logged["lead_id"], logged["rule"]) == (
        partner, rep, lead_id, "North America pool")
    assert "cover" in logged["why"]
    # a member the rule admits still takes it
    assert save_as(org, admitted_rep, lead_id, {**ANSWERS["accept"], "OwnerId": admitted_rep}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (admitted_rep, "Accepted")
    assert lead["PartnerAccountId"] == loop.partner_of_rep(admitted_rep)


def test_an_acceptance_in_the_field_by_a_member_the_rule_does_not_admit_is_not_a_pick_up(org, pooled):
    """A page layout without the offer component: the rep sets Accepted, the queue keeps the lead."""
    loop, lead_id, offer, (partner, rep), _ = pooled
    assert save_as(org, rep, lead_id, ANSWERS["accept"]).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Partner_Response__c"]) == (offer["queue_id"], None, None)
    assert [o["status"] for o in loop.offers(lead_id)] == ["live"]
    assert "does not admit" in lead["Routing_Reason__c"]
