"""Which leads of a page had their owner set by the org's lead assignment rule in their
last save (LeadHistory's `ownerAssignment`; a person's change is `Owner`).

A partner rep's save through the API without `Sforce-Auto-Assign: FALSE` (jsforce's
`update()`, a plain REST PATCH) runs the rule — REST's default — and moves the lead to the
rule's queue in the very save that carried the rep's answer. That is Salesforce's doing,
not a person taking the lead over (jobs/poll.py classify): `moved_by_rule`, only for a page
holding a lead a partner rep saved that no partner rep owns now.

It reads the read batch's LeadHistory (jobs/lead_history.py) before the page's
transaction, so a failed query fails the page (read again next run) and no call to
Salesforce is made inside it. Where the org does not track the owner's history there is no
row, and the lead's LastModifiedById stands in (jobs/poll.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobs.lead_history import LeadHistory, Wants, newest
from jobs.recovery import OWNER_FIELDS
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


def wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """The leads `moved_by_rule` asks LeadHistory about, with the owner changes it wants
    (from then on)."""
    ids, since = _saved_by_rep(cx, records)
    return {i: since for i in ids}


def moved_by_rule(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> set[str]:
    """Ids of these leads whose current owner the assignment rule set, among those a partner
    rep saved last and no partner rep owns now (the only ones where it matters)."""
    ids, since = _saved_by_rep(cx, records)
    if not ids:
        return set()
    rows = (history or LeadHistory(cx)).rows({i: since for i in ids})
    return {lead_id for lead_id, changes in rows.items()
            if (last := newest(changes, OWNER_FIELDS, since=since)) is not None and last.field == "ownerAssignment"}
