"""Two pool members' reps taking one pool lead between two reads of the lead stream.

In an org whose sharing lets every partner user save every lead, both pick-ups succeed
and the stream reads only the last owner: the second taker kept the lead, and the first —
told "Lead accepted" by the portal — lost it without a word. The first to take it keeps
it (README: "a second rep taking an already-taken pool lead hands it back to the first"),
so for a pool lead a partner's rep now owns, LeadHistory says who took it first since it
was pooled. One query per page of leads, and only when the page holds such a pick-up.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.owner_history import owner_changes
from jobs.state import offers as of
from jobs.timeutil import parse_sf_datetime

if TYPE_CHECKING:
    from jobs.context import Context

def first_takers(cx: Context, records: list[dict[str, Any]]) -> dict[str, tuple[str, datetime]]:
    """{lead id: (the rep who took it first, when)} for pool leads a partner's rep owns now
    that another partner's rep took first since the lead was pooled; read before the page's
    transaction (no call to Salesforce inside it)."""
    routing = cx.routing()
    owned = {r["Id"]: r.get("OwnerId") for r in records if (r.get("OwnerId") or "") in routing.rep_partner}
    if not owned:
        return {}
    with cx.store.connect() as conn:
        live = of.live_offers(conn, list(owned))
    pooled = {lid: o for lid, o in live.items() if o.get("kind") == "pool" and o.get("queue_id") in routing.pools}
    me = getattr(cx.client, "user_id", None)
    if not pooled or not me:
        return {}
    since = min(o["offered_at"] for o in pooled.values() if o.get("offered_at")) if any(
        o.get("offered_at") for o in pooled.values()) else None
    ids = sorted(pooled)
    taken: dict[str, tuple[str, datetime]] = {}
    for row in owner_changes(cx, ids, ["LeadId", "NewValue", "CreatedDate"], since, not_by=me):
        lead_id, rep, at = row["LeadId"], row.get("NewValue"), parse_sf_datetime(row.get("CreatedDate"))
        offer = pooled.get(lead_id)
        if offer is None or at is None or not isinstance(rep, str):
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
