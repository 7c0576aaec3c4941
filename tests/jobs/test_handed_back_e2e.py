"""A partner's rep rejects a lead the partner had already accepted (the answer field on
the layout, with a reason): the partner hands it back. The connector reacts as to any
rejection — the partner is barred, its reason counts, the lead goes on to the next
partner and the Lead says why — instead of leaving it saying Accepted and Rejected at
once, owned by a rep who said they will not work it."""
from __future__ import annotations

import pytest

from .test_outsider_answer_e2e import save_as
from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, an_offer, answer_as_rep

pytestmark = pytest.mark.e2e

FIELDS = ("OwnerId", "PartnerAccountId", "Routing_Status__c", "Routing_Reason__c", "Partner_Response__c",
          "Rejection_Reason__c")


@pytest.fixture
def accepted(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["accept"])
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"
    return loop, lead_id, offer


def test_an_accepted_lead_the_partner_rejects_goes_to_the_next_partner(org, accepted):
    loop, lead_id, offer = accepted
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    lead = {k: loop.lead(lead_id)[k] for k in FIELDS}
    assert lead["PartnerAccountId"] not in (None, offer["partner_id"]), lead
    assert lead["OwnerId"] != offer["rep_id"]
    assert (lead["Partner_Response__c"], lead["Rejection_Reason__c"]) == (None, None)  # the next partner starts clean
    assert lead["Routing_Status__c"] in ("Offered", "Escalated")
    assert "accepted, then handed back" in lead["Routing_Reason__c"]
    first = loop.offers(lead_id)[0]
    assert first["status"] == "rejected"
    assert "Out of territory: We only cover Bavaria" in first["close_reason"]
    # the partner is barred for good: it is never offered this lead again
    with loop.cx.store.connect() as conn:
        from jobs import lifecycle
        state = lifecycle.load_state(conn, [lead_id])
    assert state.declined(lead_id).get(offer["partner_id"]) == "rejected"


def test_a_rejected_set_on_an_accepted_lead_by_a_person_of_the_org_is_not_the_partners(org, accepted):
    """A channel manager editing the answer field is not the partner handing the lead back."""
    loop, lead_id, offer = accepted
    admin = next(u["Id"] for u in sorted(org.org.table("User").values(), key=lambda u: u["Id"])
                 if u["IsActive"] and not u.get("AccountId") and u["Id"] != loop.cx.client.user_id)
    assert save_as(org, admin, lead_id, {"Partner_Response__c": "Rejected"}).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == \
        (offer["rep_id"], offer["partner_id"], "Accepted")
    assert loop.offers(lead_id)[0]["status"] == "accepted"
