"""Who set the partner's answer (Partner_Response__c: Accepted, Rejected) on a lead we follow.

LastModifiedById names who saved the lead last, not who answered: in an org that opened
leads to every partner user the offered rep may answer and another partner's rep save the
lead after (or an outsider answer and the offered rep then edit another field) before the
connector reads it. LeadHistory of the answer field (history-tracked as shipped:
salesforce/…/Partner_Response__c.field-meta.xml) says who set the value the lead holds.
Read before the page's transaction, as jobs/owner_history.py reads, so a failed query fails
the page (read again next run); one query per page, only for a page holding an answer on a
lead we follow. Where the field's history is not tracked LeadHistory has no row for it,
and the lead's LastModifiedById stands in (jobs/poll.py evaluate).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.owner_history import field_changes
from jobs.recovery import response_values
from jobs.state import offers as of
from rules.lifecycle import LeadState

if TYPE_CHECKING:
    from jobs.context import Context

OFFERED = (LeadState.OFFERED.value, LeadState.POOLED.value)  # any answer is read against the offer


def answered_by(cx: Context, records: list[dict[str, Any]]) -> dict[str, str]:
    """{lead id: the user who set the answer it holds now} for these leads that hold an
    answer that means something to us: any answer on a lead offered or pooled, a Rejected
    on an accepted one (a hand-back; its Accepted stays on the lead while the partner works
    it, and is not read again). A lead whose history has no row setting that value (the
    field not tracked) is left out."""
    spelled = response_values(cx)
    if spelled is None:
        return {}
    field, rejected, accepted = spelled
    answers = {r["Id"]: r.get(field) for r in records if r.get(field) in (rejected, accepted)}
    if not answers:
        return {}
    with cx.store.connect() as conn:
        known = of.get_leads(conn, list(answers))
    ids = sorted(i for i, local in known.items() if local.get("state") in OFFERED
                 or (local.get("state") == LeadState.ACCEPTED.value and answers[i] == rejected))
    newest: dict[str, dict[str, Any]] = {}
    for row in field_changes(cx, ids, [field], ["LeadId", "NewValue", "CreatedById", "CreatedDate"], None):
        newest[row["LeadId"]] = row  # oldest first: the last one read is the newest
    return {lid: row["CreatedById"] for lid, row in newest.items()
            if row.get("NewValue") == answers.get(lid) and row.get("CreatedById")}
