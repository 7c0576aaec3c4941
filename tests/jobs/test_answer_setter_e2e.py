"""An answer is the answer of whoever set it, not of whoever saved the lead last. In an org
that opened leads to every partner user, the offered rep may answer and a rep of another
partner save the lead after (or the other way round) before the connector reads it:
LeadHistory of the answer field says who set it, LastModifiedById only who saved last.
Each save is sent over HTTPS with the user's own session."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from .test_outsider_answer_e2e import NEVER_ANSWER, an_offer, rep_elsewhere, save_as
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

RESPONSE = "Partner_Response__c"


@pytest.fixture
def opened(org, loop):
    """An org whose sharing lets every partner user reach every lead, one live offer."""
    org.org.lead_sharing_external = "ReadWrite"
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    return an_offer(loop)


def test_the_offered_reps_rejection_counts_when_another_partners_rep_saves_the_lead_after(org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, offer["rep_id"], lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    assert save_as(org, outsider, lead_id, {"Title": "Head of Purchasing"}).status_code == 204
    assert org.org.get("Lead", lead_id)["LastModifiedById"] == outsider
    loop.cycle(partners_act=False)
    first, *rest = loop.offers(lead_id)
    assert first["status"] == "rejected"  # the offered partner's rejection, taken as such
    assert offer["partner_id"] not in {o["partner_id"] for o in rest}
    assert "was not taken" not in (loop.lead(lead_id)["Routing_Reason__c"] or "")


def test_an_outsiders_acceptance_is_refused_though_the_offered_rep_saved_the_lead_last(org, loop, opened):
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["accept"]).status_code == 204
    assert save_as(org, offer["rep_id"], lead_id, {"Title": "Head of Purchasing"}).status_code == 204
    assert org.org.get("Lead", lead_id)["LastModifiedById"] == offer["rep_id"]
    with capture_logs() as logs:
        loop.cycle(partners_act=False)
    assert [o["status"] for o in loop.offers(lead_id)] == ["live"]  # the offer stands
    lead = loop.lead(lead_id)
    assert (lead[RESPONSE], lead["OwnerId"], lead["Routing_Status__c"]) == (None, offer["rep_id"], "Offered")
    assert "by a rep of a partner this lead is not offered to was not taken; the offer stands" in lead["Routing_Reason__c"]
    [logged] = [e for e in logs if e["event"] == "answer_not_taken"]
    assert (logged["saved_by"], logged["offered_to"]) == (outsider, offer["partner_id"])


def test_without_history_of_the_answer_field_the_last_saver_is_taken_as_who_answered(org, loop, opened,
                                                                                     monkeypatch):
    """An org that does not track the answer field's history: LeadHistory cannot say who
    set it, so the lead's LastModifiedById is taken (an outsider's save is refused)."""
    monkeypatch.setattr(org.org.schema.object("Lead").field(RESPONSE), "track_history", False)
    lead_id, offer = opened
    outsider = rep_elsewhere(org, offer["partner_id"])
    assert save_as(org, outsider, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    assert not [h for h in org.org.table("LeadHistory").values() if h["LeadId"] == lead_id and h["Field"] == RESPONSE]
    loop.cycle(partners_act=False)
    assert [o["status"] for o in loop.offers(lead_id)] == ["live"]
    assert "was not taken" in loop.lead(lead_id)["Routing_Reason__c"]
