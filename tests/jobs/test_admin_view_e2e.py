"""What an admin sees on the Lead after an automatic action: its fields say what the
connector did, and nothing on them belongs to an offer that is over.

Each test drives one action end to end against the sandbox org and reads the Lead as an
admin does (its fields, LeadHistory), not the connector's state."""
from __future__ import annotations

import pytest

from .test_lifecycle_e2e import ALWAYS_ACCEPT, ALWAYS_REJECT

pytestmark = pytest.mark.e2e


def _distributors(org) -> set[str]:
    return {a["Id"] for a in org.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}


def test_a_lead_back_with_its_distributor_shows_the_distributors_offer_not_the_last_resellers(org, loop):
    """Every reseller rejects the lead a distributor handed down: it goes back to the
    distributor, Accepted. The Lead's offer fields are the distributor's accepted offer,
    not the rejected reseller's (whose deadline, a day ahead, would read as a clock still
    running on an accepted lead, and which a rebuilt state would take for the offer)."""
    org.simulator.set_profile("*", ALWAYS_REJECT)
    distributors = _distributors(org)
    for d in distributors:
        org.simulator.set_profile(d, ALWAYS_ACCEPT)
    from jobs.state.schema import offers

    def distributor_accepts():
        with loop.cx.store.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(offers.select().where(
                offers.c.status == "accepted", offers.c.partner_id.in_(distributors)))]

    for _ in range(8):
        loop.cycle(hours=1)
        if distributor_accepts():
            break
    dist_offer = distributor_accepts()[0]
    lead_id = dist_offer["lead_id"]
    for _ in range(6):  # every reseller rejects
        loop.cycle(hours=1)
    lead = loop.lead(lead_id)
    assert (lead["PartnerAccountId"], lead["Routing_Status__c"]) == (dist_offer["partner_id"], "Accepted")
    assert lead["Routing_Reason__c"].startswith("Back to the distributor")
    resellers = [o for o in loop.offers(lead_id) if o["id"] > dist_offer["id"]]
    assert resellers and all(o["status"] == "rejected" for o in resellers)
    assert lead["Offered_At__c"] == dist_offer["offered_at"].replace(microsecond=lead["Offered_At__c"].microsecond)
    assert lead["Offer_Deadline__c"] != resellers[-1]["deadline"].replace(
        microsecond=lead["Offer_Deadline__c"].microsecond), "the rejected reseller's deadline is still on the Lead"
    assert abs((lead["Offer_Deadline__c"] - dist_offer["deadline"]).total_seconds()) < 1
