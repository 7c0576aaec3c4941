"""A decision whose write never reached Salesforce, on a lead someone edited meanwhile.

The sequence the fault test met (tests/reliability/test_faults.py, seed 20 on the
batched LeadHistory reads): an offer lapses, the expire job decides the lead's next
offer, and the write fails with the session expired again right after a fresh login
(SessionError) — the entries stay `sent`, their outcome unknown. The lapsed partner's
rep then saves the lead (a late note). The outbox's read-back finds the write not on
the lead and the lead changed: that is no person taking the lead over, and the lead
must not be let go (stranded: Offered to a partner whose offer is over, watched by
nobody), nor shown offered twice to the partner of the write that never landed (the
org saw that offer never: it was never made).
"""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def test_a_redistribution_that_never_landed_on_a_lead_edited_since_is_decided_again_not_let_go(org, loop):
    from jobs.state import offers as of
    from jobs.state import outbox as ob

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    first = {lid: o for lid, o in loop.live().items() if o["kind"] == "offer"}
    assert first, "the seed has leads a partner can be offered"

    # every offer lapses; every composite write of the cycle meets a session that expires
    # again after each fresh login: the redistributions are marked sent and never land
    org.faults.plan("expire", count=1000, endpoint="composite/sobjects")
    results = loop.cycle(hours=30, partners_act=False, raise_errors=False)
    assert results["expire"].error, "the expire job's write-back failed"
    with loop.cx.store.connect() as conn:
        sent = {e["lead_id"]: e for e in ob.open_entries(conn)
                if e["status"] == "sent" and e["purpose"] == "offer" and e["lead_id"] in first}
    assert sent, "redistributions left sent with their outcome unknown"
    lead_id = sorted(sent)[0]
    unlanded = loop.offers(lead_id)[-1]
    assert unlanded["status"] == "live" and unlanded["attempt"] == 2
    lapsed_rep = first[lead_id]["rep_id"]
    assert loop.lead(lead_id)["OwnerId"] == lapsed_rep, "the redistribution never reached the lead"
    org.faults.clear()

    # the lapsed offer's rep saves the lead meanwhile: no person of the org takes it over
    org.org.update("Lead", lead_id, {"Description": "Left a voicemail"}, as_user=lapsed_rep)
    loop.cycle(partners_act=False)

    lead = loop.lead(lead_id)
    with loop.cx.store.connect() as conn:
        local = of.get_leads(conn, [lead_id])[lead_id]
        assert not ob.open_entries(conn), "every write settled"
    assert local["state"] not in ("released", "closed"), f"let go: {local['reason']}"
    assert lead["Routing_Status__c"] in ("Offered", "Escalated"), lead["Routing_Status__c"]
    offers = loop.offers(lead_id)
    partners = [o["partner_id"] for o in offers if o["kind"] == "offer"]
    assert len(partners) == len(set(partners)), f"offered to a partner twice: {partners}"
    live = [o for o in offers if o["status"] == "live"]
    assert lead["Routing_Status__c"] == "Offered", "the seed has partners enough for a second offer"
    assert len(live) == 1 and lead["OwnerId"] == live[0]["owner_id"] != lapsed_rep
    assert lead["Routing_Attempt__c"] == live[0]["attempt"] == 2

    # every partner but the one whose offer never reached the lead pauses: the live offer is
    # withdrawn and the lead moves on, to that partner, once in the offers (the org saw one)
    admin = next(u["Id"] for u in org.org.records("User") if u["Name"] == "Sandbox Admin")
    for account in org.org.records("Account"):
        if account.get("Partner_Role__c") and account["Id"] != unlanded["partner_id"]:
            org.org.update("Account", account["Id"], {"Routing_Paused__c": True}, as_user=admin)
    org.org.update("Account", unlanded["partner_id"], {"Daily_Cap__c": 1000, "Capacity__c": 1000}, as_user=admin)
    loop.cycle(hours=25, partners_act=False)  # a new day: no daily cap stands in the way
    loop.cycle(partners_act=False)
    offers = loop.offers(lead_id)
    assert live[0]["id"] in [o["id"] for o in offers if o["status"] != "live"], "the second offer ended"
    assert unlanded["id"] not in [o["id"] for o in offers], "the offer that never reached the lead was never made"
    partners = [o["partner_id"] for o in offers if o["kind"] == "offer"]
    assert len(partners) == len(set(partners)), f"offered to a partner twice: {partners}"
    # its one offer: the partner whose first never reached the lead has it now
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered"
    assert loop.lead(lead_id)["PartnerAccountId"] == unlanded["partner_id"] == partners[-1]


def test_a_late_take_from_a_lapsed_pool_before_our_next_write_landed_is_no_persons_takeover(org, make_loop):
    from jobs.state import offers as of

    from .conftest import pool_members_covering

    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(partners_act=False)
    pooled = sorted(lid for lid, o in loop.live().items() if o["kind"] == "pool")
    assert pooled, "the seed pools some leads"
    lead_id = pooled[0]
    pool = loop.offers(lead_id)[-1]["queue_id"]

    # the pool's window lapses; the next decision's write meets a session that expires again
    # after each fresh login, and never lands: the lead is still in the pool's queue
    org.faults.plan("expire", count=1000, endpoint="composite/sobjects")
    results = loop.cycle(hours=30, partners_act=False, raise_errors=False)
    assert results["expire"].error
    org.faults.clear()
    assert loop.lead(lead_id)["OwnerId"] == pool
    # a member's rep takes it from the queue, late: a partner's answer, no person of the org's
    rep = next(iter(pool_members_covering(loop, pool, lead_id).values()))
    org.org.update("Lead", lead_id, {"OwnerId": rep}, as_user=rep)
    loop.cycle(partners_act=False)

    with loop.cx.store.connect() as conn:
        local = of.get_leads(conn, [lead_id])[lead_id]
    assert local["state"] not in ("released", "closed"), f"let go: {local['reason']}"
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] in ("Offered", "Escalated", "Accepted"), lead["Routing_Status__c"]
    targets = [o["partner_id"] or o["queue_id"] for o in loop.offers(lead_id)]
    assert len(targets) == len(set(targets)), f"offered to a target twice: {targets}"
