"""An offer ends at its deadline by Salesforce's clock, whenever the connector next runs: an
acceptance the rep saved after it is not taken, though the connector reads it before it has
lapsed the offer (it was down, or its lead stream runs before the expire job). Which came first
is read from Salesforce's own times (the answer's LeadHistory row against the deadline on the
Lead), so the outcome no longer depends on which job happened to look first."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .test_rep_reason_code_e2e import NEVER_ANSWER, save_on_the_page

pytestmark = pytest.mark.e2e


def _offered(org, loop) -> tuple[str, dict]:
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = sorted((lid, o) for lid, o in loop.live().items() if o["kind"] == "offer")[0]
    return lead_id, offer


def test_an_acceptance_saved_after_the_deadline_is_a_lapse_not_an_acceptance(org, loop):
    lead_id, first = _offered(org, loop)
    org.clock.set(first["deadline"] + timedelta(minutes=20))  # the connector did not run meanwhile
    save_on_the_page(org, lead_id, first["rep_id"], {"Partner_Response__c": "Accepted"})
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] != "Accepted" and lead["PartnerAccountId"] != first["partner_id"], lead
    assert lead["Partner_Response__c"] is None
    assert loop.offers(lead_id)[0]["status"] == "lapsed"
    reason = lead["Routing_Reason__c"]
    assert reason.startswith("offer 1 lapsed unanswered; an answer saved after it lapsed was not taken"), reason


def test_an_acceptance_saved_before_the_deadline_is_taken_though_read_after_it(org, loop):
    lead_id, first = _offered(org, loop)
    org.clock.set(first["deadline"] - timedelta(minutes=5))
    save_on_the_page(org, lead_id, first["rep_id"], {"Partner_Response__c": "Accepted"})
    org.clock.advance(timedelta(hours=2))  # the connector was down past the deadline
    loop.cycle(partners_act=False)
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Accepted" and lead["PartnerAccountId"] == first["partner_id"], lead
    assert loop.offers(lead_id)[0]["status"] == "accepted"


def test_partners_who_answered_in_time_are_taken_when_the_connector_next_runs_a_day_later(org, loop):
    """The partner simulator plays each answer at its own time (its Lead History row says
    when the rep answered), not at the time the loop steps it: a connector that comes back a
    day later takes the answers given within their windows."""
    from sandbox.simulator import Profile

    org.simulator.set_profile("*", Profile("quick", accept=1.0, reject=0.0, delay_hours=(0.1, 0.5)))
    loop.cycle(partners_act=False)
    offered = {lid for lid, o in loop.live().items() if o["kind"] == "offer"}
    assert offered
    loop.cycle(hours=30)  # every rep answered within half an hour; the connector reads it 30 hours on
    ends = {lid: loop.offers(lid)[0]["status"] for lid in offered}
    assert set(ends.values()) == {"accepted"}, ends
