"""Two pool members' reps taking one pool lead between two reads of the lead stream.

In an org whose sharing lets every partner user save every lead, both pick-ups succeed
and the stream reads only the last owner: the second taker kept the lead, and the first —
told "Lead accepted" by the portal — lost it without a word. The first to take it keeps
it (README: "a second rep taking an already-taken pool lead hands it back to the first"),
so for a pool lead a partner's rep now owns, LeadHistory says who took it first since it
was pooled. Read from the read batch's LeadHistory (jobs/lead_history.py), only for such pick-ups.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.lead_history import LeadHistory, Wants
from jobs.recovery import OWNER_FIELDS
from jobs.state import offers as of

if TYPE_CHECKING:
    from jobs.context import Context


def _pooled(cx: Context, records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(owner by lead, live pool offer by lead) of these leads that a partner's rep owns
    while the lead is offered to a pool of ours."""
    routing = cx.routing()
    owned = {r["Id"]: r.get("OwnerId") for r in records if (r.get("OwnerId") or "") in routing.rep_partner}
    if not owned:
        return owned, {}
    with cx.store.connect() as conn:
        live = of.live_offers(conn, list(owned))
    return owned, {lid: o for lid, o in live.items() if o.get("kind") == "pool" and o.get("queue_id") in routing.pools}


def wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """The leads `first_takers` asks LeadHistory about, each with the owner changes since its
    pool offer."""
    if not getattr(cx.client, "user_id", None):
        return {}
    return {lid: o.get("offered_at") for lid, o in _pooled(cx, records)[1].items()}


def first_takers(cx: Context, records: list[dict[str, Any]],
                 history: LeadHistory | None = None) -> dict[str, tuple[str, datetime]]:
    """{lead id: (the rep who took it first, when)} for pool leads a partner's rep owns now
    that another partner's rep took first since the lead was pooled; read before the page's
    transaction (no call to Salesforce inside it). `history`: the read batch's LeadHistory."""
    routing = cx.routing()
    owned, pooled = _pooled(cx, records)
    me = getattr(cx.client, "user_id", None)
    if not pooled or not me:
        return {}
    history = history or LeadHistory(cx)
    taken: dict[str, tuple[str, datetime]] = {}
    for lead_id, changes in history.rows({lid: o.get("offered_at") for lid, o in pooled.items()}).items():
        offer = pooled[lead_id]
        for change in changes:  # oldest first
            rep, at = change.value, change.at
            if change.field not in OWNER_FIELDS or change.by == me or not isinstance(rep, str):
                continue
            if offer.get("offered_at") and at < offer["offered_at"]:
                continue  # an owner before this pool offer
            if rep == offer["queue_id"]:
                taken.pop(lead_id, None)  # put back in the pool by its taker: the next one is first
            elif lead_id not in taken and rep in routing.pools[offer["queue_id"]].member_rep_ids:
                taken[lead_id] = (rep, at)
    # only a race: the first taker's partner is not the partner whose rep owns the lead now
    return {lid: first for lid, first in taken.items()
            if routing.rep_partner.get(first[0]) != routing.rep_partner.get(owned[lid] or "")}
