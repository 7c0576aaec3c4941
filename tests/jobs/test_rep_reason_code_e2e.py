"""A rep who rejects on the Lead's own page (a portal page layout without the offer component,
or a hand-back of a lead already accepted, which the component does not offer) picks the
reason from the restricted list, Rejection Reason Code, and may write words in Rejection
Reason beside it, as the shipped fields invite. The code is the rep's reason: the Lead, the
ended offer and the feedback it feeds (a "No capacity" throttles the partner) read it, not
"no reason given". The rep saves over HTTPS with its own session, through the UI API as a
Lightning record page does."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

from .conftest import as_user

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def save_on_the_page(sb, lead_id: str, rep_id: str, fields: dict) -> None:
    """The rep edits the Lead's fields on its record page (Lightning's UI API updateRecord)."""
    http, base = as_user(sb, rep_id)
    with http:
        r = http.patch(f"{base}/ui-api/records/{lead_id}", json={"fields": fields}, timeout=10)
    assert r.status_code == 200, r.text


def declines(loop, lead_id: str) -> dict[str, str]:
    from jobs.state.schema import exclusions

    with loop.cx.store.connect() as conn:
        rows = conn.execute(exclusions.select().where(exclusions.c.lead_id == lead_id)).mappings().all()
    return {r["partner_id"]: r["reason"] for r in rows}


def an_offer(loop) -> tuple[str, dict]:
    return next((lid, o) for lid, o in loop.live().items() if o["kind"] == "offer")


def test_a_rejection_with_only_the_reason_code_is_taken_with_that_reason(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    save_on_the_page(org, lead_id, offer["rep_id"],
                     {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity"})
    loop.cycle(partners_act=False)
    first = loop.offers(lead_id)[0]
    assert first["status"] == "rejected"
    assert first["close_reason"] == "No capacity"
    # the partner's decline as feedback reads it (a "No capacity" throttles the partner)
    assert declines(loop, lead_id) == {offer["partner_id"]: "No capacity"}


def test_the_code_and_the_reps_words_are_both_the_reason(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    save_on_the_page(org, lead_id, offer["rep_id"],
                     {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Out of territory",
                      "Rejection_Reason__c": "We only cover Bavaria"})
    loop.cycle(partners_act=False)
    first = loop.offers(lead_id)[0]
    assert first["close_reason"] == "Out of territory: We only cover Bavaria"


def test_words_that_already_start_with_the_code_are_not_said_twice(org, loop):
    # the portal component writes "<code>: <words>" in Rejection Reason beside the code
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    save_on_the_page(org, lead_id, offer["rep_id"],
                     {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Other",
                      "Rejection_Reason__c": "Other: the customer is our competitor"})
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["close_reason"] == "Other: the customer is our competitor"


def test_an_accepted_lead_handed_back_on_the_page_keeps_the_code(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    save_on_the_page(org, lead_id, offer["rep_id"], {"Partner_Response__c": "Accepted"})
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"
    save_on_the_page(org, lead_id, offer["rep_id"],
                     {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity"})
    loop.cycle(partners_act=False)
    first = loop.offers(lead_id)[0]
    assert first["status"] == "rejected"
    assert first["close_reason"] == "handed back after accepting: No capacity"


def test_a_rejection_with_only_the_code_comes_back_with_it_when_the_state_is_lost(org, make_loop, tmp_path):
    # the state is a cache of the org: the code is history-tracked (as shipped), so a rebuilt
    # decline counts in feedback with the reason the live one did
    from .test_recovery_declines_without_reason_e2e import _lose_state

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    save_on_the_page(org, lead_id, offer["rep_id"],
                     {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity"})
    loop.cycle(partners_act=False)
    assert declines(loop, lead_id) == {offer["partner_id"]: "No capacity"}
    fresh = _lose_state(loop, make_loop, tmp_path)
    assert declines(fresh, lead_id) == {offer["partner_id"]: "No capacity"}
