"""Which leads of a page had their owner set by the org's lead assignment rule in their
last save (LeadHistory's `ownerAssignment`; a person's change is `Owner`).

A partner rep's save through the API without `Sforce-Auto-Assign: FALSE` (jsforce's
`update()`, a plain REST PATCH) runs the rule — REST's default — and moves the lead to the
rule's queue in the very save that carried the rep's answer. That is Salesforce's doing,
not a person taking the lead over (jobs/poll.py classify). Read before the page's
transaction, as jobs/pool_race.py reads, so a failed query fails the page (read again next
run) and no call to Salesforce is made inside it; one query, only for a page holding a
lead a partner rep saved that no partner rep owns now.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

from connector.soql import format_soql, select as soql_select
from jobs.recovery import OWNER_FIELDS
from jobs.timeutil import parse_sf_datetime

if TYPE_CHECKING:
    from jobs.context import Context

SAVED_BY = "LastModifiedById"  # read with every lead (jobs/poll.py read_fields)
CHUNK = 300  # lead ids per LeadHistory query (the SOQL length stays well inside its limit)


def moved_by_rule(cx: Context, records: list[dict[str, Any]]) -> set[str]:
    """Ids of these leads whose current owner the assignment rule set, among those a partner
    rep saved last and no partner rep owns now (the only ones where it matters)."""
    routing = cx.routing()
    saved = {r["Id"]: parse_sf_datetime(r.get("SystemModstamp")) for r in records
             if (r.get(SAVED_BY) or "") in routing.rep_partner and (r.get("OwnerId") or "") not in routing.rep_partner}
    if not saved:
        return set()
    stamps = [t for t in saved.values() if t is not None]
    since = min(stamps) - timedelta(seconds=1) if stamps else None
    newest: dict[str, str] = {}
    for row in owner_changes(cx, sorted(saved), ["LeadId", "Field", "CreatedDate"], since):
        newest[row["LeadId"]] = row.get("Field") or ""  # oldest first: the last one read is the newest
    return {lead_id for lead_id, field in newest.items() if field == "ownerAssignment"}


def owner_changes(cx: Context, ids: list[str], fields: list[str], since: datetime | None,
                  not_by: str | None = None) -> Iterator[dict[str, Any]]:
    """LeadHistory's owner changes (a person's and an assignment rule's) of these leads since
    `since`, oldest first, `not_by` a user left out; one query per CHUNK ids."""
    yield from field_changes(cx, ids, list(OWNER_FIELDS), fields, since, not_by)


def field_changes(cx: Context, ids: list[str], names: list[str], fields: list[str], since: datetime | None,
                  not_by: str | None = None) -> Iterator[dict[str, Any]]:
    """LeadHistory's rows of these leads for these fields (`names`, as LeadHistory.Field
    spells them) since `since`, oldest first, `not_by` a user left out; one query per CHUNK ids."""
    for i in range(0, len(ids), CHUNK):
        where = format_soql("LeadId IN {} AND Field IN {}", ids[i:i + CHUNK], names)
        if not_by:
            where += format_soql(" AND CreatedById != {}", not_by)
        if since is not None:
            where += f" AND CreatedDate >= {since.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
        yield from cx.client.query(soql_select("LeadHistory", fields, where=where, order_by=("CreatedDate", "Id")))
