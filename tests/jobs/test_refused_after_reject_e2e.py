"""A partner's rep rejects an offered lead; Salesforce refuses the write that moves it on
(a validation rule, FIELD_CUSTOM_VALIDATION_EXCEPTION). Before, the Lead went Unroutable
but stayed owned by the rep who had just said they will not work it: nobody else saw it.
Now the lead goes to the escalation queue, Unroutable with Salesforce's words; when even
that is refused, the status alone is written; when every write of the lead is refused,
the log and `leadrouter status` name the lead, Salesforce's message and the fix."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from .test_portal_answer_e2e import ANSWERS, NEVER_ANSWER, answer_as_rep

pytestmark = pytest.mark.e2e

REFUSED = "FIELD_CUSTOM_VALIDATION_EXCEPTION"


@pytest.fixture
def rejected(org, loop):
    """A live offer whose rep has just rejected it (not read by the connector yet)."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = next((lid, o) for lid, o in sorted(loop.live().items()) if o["kind"] == "offer")
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    return lead_id, offer


def test_a_lead_whose_next_offer_is_refused_goes_to_the_escalation_queue_not_the_rep_who_rejected_it(
        org, loop, rejected):
    lead_id, offer = rejected
    org.faults.plan("record_failures", endpoint="PATCH composite/sobjects", code=REFUSED)
    with capture_logs() as logs:
        loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == loop.queue_id("Channel_Escalations"), "still owned by the rep who rejected it"
    assert lead["PartnerAccountId"] is None
    assert lead["Routing_Status__c"] == "Unroutable"
    assert lead["Routing_Reason__c"].startswith("Salesforce refused leadrouter's offer"), lead["Routing_Reason__c"]
    assert REFUSED in lead["Routing_Reason__c"]
    refused = [e for e in logs if e["event"] == "write_refused" and e.get("lead_id") == lead_id]
    assert refused and refused[0]["code"] == REFUSED and refused[0]["message"] and refused[0]["fix"]


def test_when_the_move_to_the_escalation_queue_is_refused_too_the_lead_still_says_unroutable_and_why(
        org, loop, rejected):
    lead_id, offer = rejected
    org.faults.plan("record_failures", count=2, endpoint="PATCH composite/sobjects", code=REFUSED)
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Unroutable"
    assert lead["Routing_Reason__c"].startswith("Salesforce refused leadrouter's offer"), lead["Routing_Reason__c"]


def test_a_lead_salesforce_refuses_every_write_of_is_named_in_the_log_and_in_status(
        org, loop, rejected):
    lead_id, offer = rejected
    org.faults.plan("record_failures", count=20, endpoint="PATCH composite/sobjects", code=REFUSED)
    with capture_logs() as logs:
        loop.cycle(partners_act=False)
    org.faults.clear()
    assert loop.lead(lead_id)["OwnerId"] == offer["rep_id"], "nothing could be written"
    stranded = [e for e in logs if e["event"] == "lead_left_with_its_owner"]
    assert len(stranded) == 1 and stranded[0]["lead_id"] == lead_id, [e["event"] for e in logs]
    assert REFUSED in stranded[0]["problem"] and "escalation" in stranded[0]["problem"]
    assert "Pending" in stranded[0]["fix"]
    # and `leadrouter status` lists it until a person routes it again
    from jobs.ops import status as people
    from jobs.state import outbox as ob

    with loop.cx.store.connect() as conn:
        stuck = ob.unwritten_refusals(conn)
    assert [s["lead_id"] for s in stuck] == [lead_id]
    assert REFUSED in stuck[0]["error"]
    text = people.render({"state": "x", "schema_version": 1, "refusals": stuck})
    assert lead_id in text and REFUSED in text and "Pending" in text
