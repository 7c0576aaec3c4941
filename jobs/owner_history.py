"""Who set a lead's owner, as LeadHistory says: the org's lead assignment rule in the lead's
last save (`ownerAssignment`; a person's change is `Owner`), or which user.

A partner rep's save through the API without `Sforce-Auto-Assign: FALSE` (jsforce's
`update()`, a plain REST PATCH) runs the rule — REST's default — and moves the lead to the
rule's queue in the very save that carried the rep's answer. That is Salesforce's doing,
not a person taking the lead over (jobs/poll.py classify): `moved_by_rule`, only for a page
holding a lead a partner rep saved that no partner rep owns now.

A lead a rep of a partner it is not offered to owns now was taken by that rep — or given to
that rep by a person of the org, who then takes the lead over. The lead's LastModifiedById
names only its last saver, whoever saved it after the owner changed: `owner_set_by` names
who set the owner it has (LeadHistory's CreatedById).

Both read the read batch's LeadHistory (jobs/lead_history.py) before the page's
transaction, so a failed query fails the page (read again next run) and no call to
Salesforce is made inside it. Where the org does not track the owner's history there is no
row, and the lead's LastModifiedById stands in (jobs/poll.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobs.lead_history import LeadHistory, Wants, merge, newest
from jobs.recovery import OWNER_FIELDS
from jobs.state import offers as of
from jobs.timeutil import parse_sf_datetime

if TYPE_CHECKING:
    from jobs.context import Context

SAVED_BY = "LastModifiedById"  # read with every lead (jobs/poll.py read_fields)


def _saved_by_rep(cx: Context, records: list[dict[str, Any]]) -> tuple[list[str], datetime | None]:
    """(the leads a partner rep saved last that no partner rep owns now, the owner changes
    wanted since: a second before the earliest of their saves)."""
    routing = cx.routing()
    saved = {r["Id"]: parse_sf_datetime(r.get("SystemModstamp")) for r in records
             if (r.get(SAVED_BY) or "") in routing.rep_partner and (r.get("OwnerId") or "") not in routing.rep_partner}
    stamps = [t for t in saved.values() if t is not None]
    return sorted(saved), (min(stamps) - timedelta(seconds=1) if stamps else None)


def _outsider_owned(cx: Context, records: list[dict[str, Any]]) -> dict[str, tuple[str, datetime | None]]:
    """{lead id: (its owner, the live offer's time)} for leads a rep of a partner the live
    offer is not for (for a pool: no member) owns now."""
    routing = cx.routing()
    owned = {r["Id"]: r["OwnerId"] for r in records if (r.get("OwnerId") or "") in routing.rep_partner}
    if not owned:
        return {}
    with cx.store.connect() as conn:
        live = of.live_offers(conn, list(owned))
    out: dict[str, tuple[str, datetime | None]] = {}
    for lead_id, offer in live.items():
        partner = routing.rep_partner.get(owned[lead_id])
        if offer["kind"] == "pool":
            pool = routing.pools.get(offer.get("queue_id") or "")
            if pool is None or partner in {routing.rep_partner.get(r) for r in pool.member_rep_ids}:
                continue
        elif partner == offer.get("partner_id"):
            continue
        out[lead_id] = (owned[lead_id], offer.get("offered_at"))
    return out


def wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """The leads `moved_by_rule` and `owner_set_by` ask LeadHistory about, with the owner
    changes each wants (from then on)."""
    ids, since = _saved_by_rep(cx, records)
    return merge({i: since for i in ids}, {i: at for i, (_, at) in _outsider_owned(cx, records).items()})


def moved_by_rule(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> set[str]:
    """Ids of these leads whose current owner the assignment rule set, among those a partner
    rep saved last and no partner rep owns now (the only ones where it matters)."""
    ids, since = _saved_by_rep(cx, records)
    if not ids:
        return set()
    rows = (history or LeadHistory(cx)).rows({i: since for i in ids})
    return {lead_id for lead_id, changes in rows.items()
            if (last := newest(changes, OWNER_FIELDS, since=since)) is not None and last.field == "ownerAssignment"}


def owner_set_by(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> dict[str, str]:
    """{lead id: the user who set the owner it has} for these leads that a rep of a partner
    other than the live offer's owns now (LeadHistory's row that set that owner since the
    offer). A lead whose history has no such row (not tracked) is left out."""
    owned = _outsider_owned(cx, records)
    if not owned:
        return {}
    rows = (history or LeadHistory(cx)).rows({i: at for i, (_, at) in owned.items()})
    out: dict[str, str] = {}
    for lead_id, (owner, at) in owned.items():
        row = newest(rows.get(lead_id, []), OWNER_FIELDS, value=owner, since=at)
        if row is not None and row.by:
            out[lead_id] = row.by
    return out
