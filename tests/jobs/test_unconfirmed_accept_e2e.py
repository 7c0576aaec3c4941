"""An acceptance whose write got no answer (the connection dropped before Salesforce took
it), and the partner's rep working the lead before the connector read it back: the
acceptance stands and is sent again. Before, the read-back saw the lead changed since
and let it go "to a person": the Lead kept saying Offered with the rep's Accepted on it,
and nobody followed it (tests/reliability/test_faults.py met it under 20 % faults)."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .test_outsider_answer_e2e import save_as

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def test_an_acceptance_whose_write_got_no_answer_is_sent_again_when_the_partner_worked_the_lead_since(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    distributors = {a["Id"] for a in org.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items())
                          if o["kind"] == "offer" and o["partner_id"] not in distributors)
    assert save_as(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Accepted"}).status_code == 204
    org.faults.plan("drop", count=50, endpoint="PATCH composite/sobjects")  # the acceptance's write: no answer
    loop.cycle(partners_act=False, raise_errors=False)
    org.faults.clear()
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered", "the write did not reach Salesforce"
    # the rep works the lead before the connector reads its write back
    assert save_as(org, offer["rep_id"], lead_id, {"Status": "Working - Contacted"}).status_code == 204
    loop.cycle(partners_act=False)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Accepted" and lead["OwnerId"] == offer["rep_id"]
    assert lead["Status"] == "Working - Contacted", "the rep's own edit stands"
    assert loop.offers(lead_id)[0]["status"] == "accepted"


def test_a_hand_back_before_the_unconfirmed_acceptance_was_read_back_is_honoured_in_that_cycle(org, loop):
    """The acceptance's write got no answer; the rep then rejects the lead they accepted (a
    hand-back) before the connector reads its write back. The read-back honours the hand-back
    in the same cycle, as for any accepted lead: the partner is barred, the lead goes on and
    the Lead says why. Before, the acceptance was sent again over the rep's Rejected and the
    hand-back waited for the lead's next save."""
    from .test_portal_answer_e2e import ANSWERS

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    distributors = {a["Id"] for a in org.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items())
                          if o["kind"] == "offer" and o["partner_id"] not in distributors)
    assert save_as(org, offer["rep_id"], lead_id, {"Partner_Response__c": "Accepted"}).status_code == 204
    org.faults.plan("drop", count=50, endpoint="PATCH composite/sobjects")  # the acceptance's write: no answer
    loop.cycle(partners_act=False, raise_errors=False)
    org.faults.clear()
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered", "the write did not reach Salesforce"
    assert loop.offers(lead_id)[0]["status"] == "accepted"
    # the rep hands the lead back before the connector reads its write back
    assert save_as(org, offer["rep_id"], lead_id,
                   ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["PartnerAccountId"] not in (None, offer["partner_id"]) or lead["Routing_Status__c"] == "Escalated", lead
    assert lead["OwnerId"] != offer["rep_id"], "still with the rep who handed it back"
    assert lead["Routing_Status__c"] in ("Offered", "Escalated")
    assert "accepted, then handed back" in lead["Routing_Reason__c"], lead["Routing_Reason__c"]
    assert (lead["Partner_Response__c"], lead["Rejection_Reason__c"]) == (None, None)
    first = loop.offers(lead_id)[0]
    assert first["status"] == "rejected", first
