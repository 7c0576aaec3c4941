"""A rejection without a reason outlives a lost state as a rejection, not a lapse.

A rep may answer an offer with Partner_Response__c = Rejected and no reason. The state
database is a cache: deleted, it is rebuilt from the org, where LeadHistory must say the
partner declined (the answer was set by the rep, not our integration user, while the
lead was that partner's) — or the partner comes back as one that let the lead lapse,
which feedback and the partner's track record count differently.

That needs the org to track field history on Partner_Response__c: the metadata under
salesforce/ ships it tracked (DEPLOY.md tells an admin who deploys by hand to keep it)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from jobs.state.schema import exclusions, offers as offer_rows
from sandbox.simulator import Profile

from .test_portal_answer_e2e import an_offer, answer_as_rep

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
RESPONSE = "Partner_Response__c"


@pytest.fixture
def response_history() -> str:
    """The org as shipped: Partner_Response__c is history-tracked
    (salesforce/…/Lead/fields/Partner_Response__c.field-meta.xml), so LeadHistory keeps a
    rejection given without a reason."""
    from sandbox.schema import load_schema

    assert load_schema().object("Lead").field(RESPONSE).track_history
    return "shipped"


def _bars(store) -> set[tuple[str, str, str]]:
    with store.connect() as conn:
        return {(r.lead_id, r.partner_id, r.outcome) for r in conn.execute(
            select(exclusions.c.lead_id, exclusions.c.partner_id, exclusions.c.outcome))}


def _lose_state(loop, make_loop, tmp_path: Path):
    """The state file is deleted; a connector on the same path starts with an empty one
    and rebuilds it from the org in its first cycle, before any job acts on leads."""
    path = tmp_path / "state.sqlite"
    loop.cx.store.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert not path.exists()
    fresh = make_loop(loop.sb)
    results = fresh.cycle(partners_act=False)
    assert any(k.startswith("rebuilt_") for r in results.values() for k in r.counts), "the state was rebuilt"
    return fresh


def test_a_rejection_without_a_reason_comes_back_as_rejected_and_the_partner_is_not_offered_it_again(
        response_history, org, make_loop, tmp_path):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    declined_by = offer["partner_id"]
    answer_as_rep(org, lead_id, offer["rep_id"], {RESPONSE: "Rejected"})  # no reason, no reason code
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[0]["status"] == "rejected"
    assert loop.lead(lead_id)["PartnerAccountId"] != declined_by, "the lead moved on"
    before = _bars(loop.cx.store)
    assert before == {(lead_id, declined_by, "rejected")}

    fresh = _lose_state(loop, make_loop, tmp_path)

    after = _bars(fresh.cx.store)
    assert (lead_id, declined_by, "lapsed") not in after, "a decline, not a lapse"
    assert after == before
    with fresh.cx.store.connect() as conn:
        rebuilt = conn.execute(select(offer_rows.c.status, offer_rows.c.close_reason).where(
            offer_rows.c.lead_id == lead_id, offer_rows.c.partner_id == declined_by)).one()
    assert rebuilt.status == "rejected"
    assert rebuilt.close_reason.startswith("no reason given"), "the words of a live rejection without a reason"

    # Every other partner pauses: the one that declined is the only one left who could take
    # the lead when its present partner turns it down too. It is not offered it again.
    # (The present partner stays on: its rep answers a lead it still holds, as the org's
    # sharing lets it; a paused partner's offer is withdrawn and out of its reps' reach.)
    holder = fresh.live()[lead_id]
    for a in org.org.records("Account"):
        if a.get("IsPartner") and a["Id"] not in (declined_by, holder["partner_id"]):
            org.org.update("Account", a["Id"], {"Routing_Paused__c": True})
    fresh.cycle(partners_act=False)
    assert not fresh.cx.routing().partners[declined_by].paused
    answer_as_rep(org, lead_id, holder["rep_id"], {RESPONSE: "Rejected", "Rejection_Reason__c": "No capacity"})
    fresh.cycle(partners_act=False)
    lead = fresh.lead(lead_id)
    assert lead["PartnerAccountId"] != declined_by
    assert fresh.cx.routing().rep_partner.get(lead["OwnerId"]) != declined_by
    assert all(o["partner_id"] != declined_by for o in fresh.offers(lead_id) if o["status"] != "rejected")
    assert lead["Routing_Status__c"] == "Escalated", lead.get("Routing_Reason__c")


def test_lapses_stay_lapses_when_the_answer_field_is_tracked(response_history, org, make_loop, tmp_path):
    """Our own clearing of the answer when a lead moves on is in LeadHistory too (by our
    integration user, to no value): it is nobody's decline."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    lead_id, offer = an_offer(loop)
    answer_as_rep(org, lead_id, offer["rep_id"], {RESPONSE: "Rejected"})
    loop.cycle(partners_act=False)
    loop.cycle(hours=25, partners_act=False)  # every live offer lapses
    before = _bars(loop.cx.store)
    lapsed = {b for b in before if b[2] == "lapsed"}
    assert len(lapsed) >= 10 and (lead_id, offer["partner_id"], "rejected") in before

    fresh = _lose_state(loop, make_loop, tmp_path)

    assert _bars(fresh.cx.store) == before, "rejected as rejected, lapsed as lapsed"
