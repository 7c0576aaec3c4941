"""What a changed, already-known lead means: a partner's answer, a pool pick-up, or a person.

Called for each known lead in the lead stream. The order of the checks is the policy:
a conversion or a tick in Do_Not_Route__c ends everything; then the partner's answer;
then an owner nobody expected — a person — wins over the connector.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from jobs import lifecycle
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.timeutil import parse_sf_datetime
from mappings import Unroutable
from rules.model import Lead, Response
from rules.state import RoutingState

REROUTABLE_STATES = ("unroutable", "released", "fallback", "escalated")


def wants_reroute(lead: Any, local: dict[str, Any]) -> bool:
    """A person set Routing_Status__c to Pending on a lead we had let go: route it afresh.

    Only that explicit word counts. A blank status on a lead we released means we never
    wrote to it, and whatever else the person changed is theirs to keep."""
    if isinstance(lead, Unroutable) or local["state"] not in REROUTABLE_STATES:
        return False
    if lead.converted or lead.do_not_route or lead.routing_status != "Pending":
        return False
    seen = local.get("modstamp")
    return seen is None or (lead.modstamp is not None and lead.modstamp > seen)


def evaluate(cx, conn: Connection, state: RoutingState, lead: Any, rec: dict[str, Any], local: dict[str, Any],
             live: dict[str, Any] | None, now: datetime) -> str:
    seen = parse_sf_datetime(rec.get("SystemModstamp"))
    if isinstance(lead, Unroutable):
        of.put_lead(conn, rec["Id"], now, modstamp=seen, record=rec)
        return "unreadable"
    if local["state"] in ("closed",) or (local["state"] in REROUTABLE_STATES and live is None):
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec)
        return "unchanged"
    if lead.converted:
        lifecycle.release(conn, state, lead.id, "lead converted", now, final_state="closed", modstamp=seen)
        return "closed_converted"
    if lead.do_not_route:
        lifecycle.release(conn, state, lead.id, "Do_Not_Route__c ticked by a person", now, modstamp=seen)
        return "released_do_not_route"
    if live is not None:
        outcome = _live(cx, conn, state, lead, rec, live, seen, now)
    elif local["state"] == "accepted":
        outcome = _accepted(cx, conn, state, lead, local, seen, now)
    else:
        outcome = "unchanged"
    if outcome in ("unchanged", "reassigned_within_partner"):
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec)
    return outcome


def _live(cx, conn, state, lead: Lead, rec, offer: dict[str, Any], seen, now) -> str:
    routing = cx.routing()
    owner = lead.owner_id
    if offer["kind"] == "pool":
        if owner and owner == offer["queue_id"]:
            return "unchanged"
        partner = routing.rep_partner.get(owner or "")
        pool = routing.pools.get(offer["queue_id"])
        members = pool.member_rep_ids if pool else frozenset()
        if partner and (owner in members or pool is None):
            return _accept(cx, conn, state, lead, rec, offer, owner, partner, seen, now, via_pool=True)
        return _person(conn, state, lead, f"owner moved from the pool to {owner}, not a pool member", seen, now)
    # an offer to one partner
    if lead.response == Response.REJECTED.value:
        reason = lead.rejection_reason or "no reason given"
        lifecycle.end_offer(conn, state, offer, "rejected", reason, now, outcome="rejected")
        decision = lifecycle.redistribute(cx, conn, state, lead, attempt=offer["attempt"] + 1,
                                          why=f"rejected by {_name(routing, offer['partner_id'])}: {reason}",
                                          record=rec, seen_modstamp=seen, now=now)
        return f"rejected_then_{decision.kind.value}"
    if lead.response == Response.ACCEPTED.value:
        return _accept(cx, conn, state, lead, rec, offer, owner, offer["partner_id"], seen, now, via_pool=False)
    if offer.get("owner_id") and owner != offer["owner_id"]:
        if routing.rep_partner.get(owner or "") == offer["partner_id"]:
            of.set_offer(conn, offer["id"], owner_id=owner)  # the partner passed it to a colleague
            return "reassigned_within_partner"
        return _person(conn, state, lead, f"owner changed by hand to {owner}", seen, now)
    return "unchanged"


def _accept(cx, conn, state, lead: Lead, rec, offer, owner, partner_id, seen, now, *, via_pool: bool) -> str:
    lifecycle.end_offer(conn, state, offer, "accepted", "accepted", now, outcome=None)
    of.set_offer(conn, offer["id"], accepted_at=now, accepted_by=owner, partner_id=partner_id)
    if partner_id:
        hours = (now - offer["offered_at"]).total_seconds() / 3600
        state.record_outcome(lead.id, partner_id, "accepted", now, response_hours=hours)
    of.put_lead(conn, lead.id, now, state="accepted", owner_id=owner, modstamp=seen, status=lead.status,
                record=rec, reason="accepted")
    values: dict[str, Any] = {"routing_status": "Accepted"}
    if via_pool and partner_id:
        values["partner_id"] = partner_id  # who picked it from the pool
    ob.add(conn, lead_id=lead.id, purpose="accept", payload=lifecycle.jsonable(cx.mappings.writeback(values)),
           now=now, seen_modstamp=seen, offer_id=offer["id"])
    if not via_pool and lifecycle.is_distributor(cx, partner_id):
        # Multi-tier: the distributor took it; one of its resellers is offered it next
        # (superseding the write above). If none qualifies, the distributor keeps it.
        accepted = of.get_offer(conn, offer["id"])
        decision = lifecycle.hand_down(cx, conn, state, lead, accepted, attempt=1, why=None, record=rec,
                                       seen_modstamp=seen, now=now)
        return f"accepted_then_hand_down_{decision.kind.value}"
    return "accepted_from_pool" if via_pool else "accepted"


def _accepted(cx, conn, state, lead: Lead, local, seen, now) -> str:
    """After acceptance we only watch for a person taking the lead away from the partner."""
    owner = lead.owner_id
    if owner and owner != local.get("owner_id"):
        accepted = of.accepted_offers(conn, [lead.id]).get(lead.id)
        partner = cx.routing().rep_partner.get(owner)
        if accepted and partner and partner == accepted.get("partner_id"):
            of.put_lead(conn, lead.id, now, owner_id=owner)
            return "reassigned_within_partner"
        lifecycle.release(conn, state, lead.id, f"owner changed by hand to {owner}", now, modstamp=seen)
        return "released_owner_changed"
    return "unchanged"


def _person(conn, state, lead: Lead, reason: str, seen, now) -> str:
    lifecycle.release(conn, state, lead.id, reason, now, modstamp=seen)
    return "released_person"


def _name(routing, partner_id: str | None) -> str:
    p = routing.partners.get(partner_id or "")
    return p.name if p else str(partner_id)
