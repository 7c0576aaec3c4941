"""The org changes under a running cycle: a lead deleted or converted between the decision
and its write, a partner paused or a rep deactivated between the partner sync and routing.

Each test runs the cycle job by job and makes the change at the exact seam. "Between
decision and write" is produced with the org's own fault plan: the write is answered
503 until the retries are spent, so the decision sits unconfirmed while a person acts.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from .harness import active_reps_of, partner_ids, start_rig
from .lead_cases import BASE

pytestmark = pytest.mark.e2e


@pytest.fixture
def rig(tmp_path):
    r = start_rig(tmp_path / "rig")
    yield r
    r.close()


def _new_lead(rig, **fields) -> str:
    return rig.sb.org.create("Lead", {**BASE, **fields})


def _hold_the_write(rig) -> None:
    """Every write attempt of the next job is answered 503: the decision stays unconfirmed."""
    attempts = rig.cx.client.config.retry.max_attempts
    rig.sb.faults.plan("503", count=attempts, endpoint="PATCH composite/sobjects")


def _while_the_write_is_in_flight(rig, act) -> threading.Thread:
    """Run `act` after the org has received the lead write and before it applies it: the
    write is held 1.5 s by the org's latency fault, and the fault's counter says when."""
    faults = rig.sb.faults
    seen = faults.injected.get("latency", 0)
    faults.plan("latency", endpoint="PATCH composite/sobjects", latency_ms=1500)

    def watch():
        for _ in range(600):
            if faults.injected.get("latency", 0) > seen:
                act()
                return
            threading.Event().wait(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def _convert(rig, lead_id: str) -> None:
    rig.sb.org.update("Lead", lead_id, {"IsConverted": True, "Status": "Closed - Converted",
                                        "ConvertedDate": rig.sb.clock.now().date()}, system=True)


def _no_job_crashed(results, allowed: tuple[str, ...] = ()) -> None:
    crashed = {n: r.error for n, r in results.items() if r.error and not n.startswith(allowed)}
    assert crashed == {}


def test_lead_deleted_between_decision_and_write_is_closed_and_never_written(rig):
    lead_id = _new_lead(rig)
    _hold_the_write(rig)
    results = rig.cycle(between={"leads": lambda: rig.sb.org.delete("Lead", lead_id)})
    # the held write fails the lead job (a transient fault); nothing after it may fail
    _no_job_crashed(results, allowed=("leads",))
    rig.cycle()
    lead = rig.sb.org.table("Lead")[lead_id]
    assert lead["IsDeleted"] and lead["Routing_Status__c"] is None, "no write reached the deleted lead"
    local = rig.local(lead_id)
    assert local["state"] == "closed" and "deleted" in local["reason"]
    assert all(o["status"] != "live" for o in rig.offers(lead_id)), "its offer is closed"


def test_lead_converted_between_decision_and_write_is_let_go_with_a_reason(rig):
    lead_id = _new_lead(rig)
    _hold_the_write(rig)

    results = rig.cycle(between={"leads": lambda: _convert(rig, lead_id)})
    _no_job_crashed(results, allowed=("leads",))
    rig.cycle()
    lead = rig.lead(lead_id)
    assert lead["IsConverted"] and lead["Routing_Status__c"] is None, "no write reached the converted lead"
    local = rig.local(lead_id)
    assert local["state"] in ("closed", "released") and local["reason"]
    assert all(o["status"] != "live" for o in rig.offers(lead_id)), "no offer stays open on a converted lead"


def test_partner_paused_between_sync_and_routing_is_not_offered_the_lead(rig):
    lead_id = _new_lead(rig)
    partners = sorted(partner_ids(rig.sb))

    def pause_every_partner():
        for pid in partners:
            rig.sb.org.update("Account", pid, {"Routing_Paused__c": True})

    results = rig.cycle(between={"sync_partners": pause_every_partner})
    _no_job_crashed(results)
    rig.cycle()  # the next sync sees the pause: whatever was decided before must not stand
    lead = rig.lead(lead_id)
    assert lead["PartnerAccountId"] not in partners, (
        f"lead offered to paused partner {lead['PartnerAccountId']} ({lead['Routing_Status__c']}: "
        f"{lead['Routing_Reason__c']})")
    assert lead["Routing_Status__c"] in ("Escalated", "Unroutable") and lead["Routing_Reason__c"]


def test_rep_deactivated_between_sync_and_routing_does_not_own_the_lead(rig):
    lead_id = _new_lead(rig)
    reps = sorted({u for p in partner_ids(rig.sb) for u in active_reps_of(rig.sb, p)})

    def deactivate_every_rep():
        for uid in reps:
            rig.sb.org.update("User", uid, {"IsActive": False})

    results = rig.cycle(between={"sync_partners": deactivate_every_rep})
    _no_job_crashed(results)
    rig.cycle()
    rig.cycle()
    lead = rig.lead(lead_id)
    assert lead["OwnerId"] not in reps, "a deactivated rep never owns a routed lead"
    assert lead["Routing_Status__c"] is not None and lead["Routing_Reason__c"], (
        "Salesforce refused the owner; the lead must still get a status and a reason, not be dropped "
        f"(local state: {rig.local(lead_id)})")
    assert lead["Routing_Status__c"] in ("Escalated", "Unroutable"), (lead["Routing_Reason__c"], rig.local(lead_id))


def test_partner_paused_while_holding_a_live_offer_gets_no_new_leads(rig):
    first = _new_lead(rig, Company="First Trading")
    rig.cycle()
    offered_to = rig.lead(first)["PartnerAccountId"]
    assert offered_to in partner_ids(rig.sb), rig.lead(first)["Routing_Reason__c"]
    rig.sb.org.update("Account", offered_to, {"Routing_Paused__c": True})
    rig.sb.clock.advance(timedelta(minutes=1))
    later = [_new_lead(rig, Company=f"Later {i} Trading") for i in range(6)]
    results = rig.cycle()
    _no_job_crashed(results)
    assert all(rig.lead(i)["PartnerAccountId"] != offered_to for i in later), "a paused partner gets nothing new"


@pytest.mark.parametrize("what", ["deleted", "converted"])
def test_lead_changed_while_its_write_is_in_flight_is_closed_with_salesforces_reason(rig, what):
    lead_id = _new_lead(rig)
    act = (lambda: rig.sb.org.delete("Lead", lead_id)) if what == "deleted" else (lambda: _convert(rig, lead_id))
    watcher = _while_the_write_is_in_flight(rig, act)
    results = rig.cycle()
    watcher.join(timeout=10)
    _no_job_crashed(results)
    rig.cycle()
    lead = rig.sb.org.table("Lead")[lead_id]
    assert lead["Routing_Status__c"] is None, "the write did not land on the changed lead"
    local = rig.local(lead_id)
    assert local["state"] in ("closed", "released") and local["reason"], local
    assert all(o["status"] != "live" for o in rig.offers(lead_id)), "no offer stays open"
    assert rig.logs.lines_naming(lead_id, "write_refused"), "the refusal is logged, naming the lead"
