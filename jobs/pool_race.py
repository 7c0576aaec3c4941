"""Two pool members' reps taking one pool lead between two reads of the lead stream.

In an org whose sharing lets every partner user save every lead, both pick-ups succeed
and the stream reads only the last owner: the second taker kept the lead, and the first —
told "Lead accepted" by the portal — lost it without a word. The first to take it keeps
it (README: "a second rep taking an already-taken pool lead hands it back to the first"),
so for a pool lead a partner's rep now owns, LeadHistory says who took it first since it
was pooled. Read from the read batch's LeadHistory (jobs/lead_history.py), only for such pick-ups.

The same rows say when the rep who owns it now took it (`picked_at`): a pick-up saved after
the pool's deadline finds the pool's offer lapsed, as a pushed offer's late acceptance does
(jobs/poll.py), whichever job reads it first.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.lead_history import LeadHistory, Wants, merge, newest
from jobs.recovery import OWNER_FIELDS
from jobs.state import offers as of
from jobs.timeutil import parse_sf_datetime

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


def _saved_late(records: list[dict[str, Any]], pooled: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Of these pooled leads, those saved last after their pool's deadline: only there can the
    pick-up have come too late (a lead saved before it was taken before it)."""
    saved = {r["Id"]: parse_sf_datetime(r.get("SystemModstamp")) for r in records if r["Id"] in pooled}
    return {lid: o for lid, o in pooled.items()
            if o.get("deadline") is not None and (saved.get(lid) is None or saved[lid] > o["deadline"])}


def wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """The leads `first_takers` and `picked_at` ask LeadHistory about, each with the owner
    changes since its pool offer."""
    pooled = _pooled(cx, records)[1]
    races = {lid: o.get("offered_at") for lid, o in pooled.items()} if getattr(cx.client, "user_id", None) else {}
    return merge(races, {lid: o.get("offered_at") for lid, o in _saved_late(records, pooled).items()})


def picked_at(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> dict[str, datetime]:
    """{lead id: when, by Salesforce's clock, the partner's rep who owns it now took it from
    the pool} for pool leads saved after their pool's deadline (LeadHistory's row that set
    that owner since the pool offer). A lead whose owner's history is not tracked is left
    out: its pick-up's time is unknown, and the pick-up stands."""
    owned, pooled = _pooled(cx, records)
    late = _saved_late(records, pooled)
    if not late:
        return {}
    rows = (history or LeadHistory(cx)).rows({lid: o.get("offered_at") for lid, o in late.items()})
    out: dict[str, datetime] = {}
    for lead_id, offer in late.items():
        row = newest(rows.get(lead_id, []), OWNER_FIELDS, value=owned[lead_id], since=offer.get("offered_at"))
        if row is not None:
            out[lead_id] = row.at
    return out


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
