"""Who set the partner's answer (Partner_Response__c: Accepted, Rejected) on a lead we follow.

LastModifiedById names who saved the lead last, not who answered: in an org that opened
leads to every partner user the offered rep may answer and another partner's rep save the
lead after (or an outsider answer and the offered rep then edit another field) before the
connector reads it. LeadHistory of the answer field (history-tracked as shipped:
salesforce/…/Partner_Response__c.field-meta.xml) says who set the value the lead holds.
Read from the read batch's LeadHistory (jobs/lead_history.py) before the page's
transaction, so a failed query fails the page (read again next run); only for leads we
follow that hold an answer. Where the field's history is not tracked LeadHistory has no row for it,
and the lead's LastModifiedById stands in (jobs/poll.py evaluate).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.lead_history import NO_OWNER, Change, LeadHistory, Wants, newest
from jobs.recovery import rejection_code_field, response_values
from jobs.state import offers as of
from rules.lifecycle import LeadState

if TYPE_CHECKING:
    from jobs.context import Context

OFFERED = (LeadState.OFFERED.value, LeadState.POOLED.value)  # any answer is read against the offer


def _answered(cx: Context, records: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """(the answer field, {lead id: the answer it holds}) for these leads whose answer
    means something to us: any answer on a lead offered or pooled, a Rejected on an
    accepted one (a hand-back; its Accepted stays on the lead while the partner works it,
    and is not read again); None when the org maps no answer field."""
    spelled = response_values(cx)
    if spelled is None:
        return None
    field, rejected, accepted = spelled
    answers = {r["Id"]: r.get(field) for r in records if r.get(field) in (rejected, accepted)}
    if not answers:
        return field, {}
    with cx.store.connect() as conn:
        known = of.get_leads(conn, list(answers))
    return field, {i: answers[i] for i, local in known.items() if local.get("state") in OFFERED
                   or (local.get("state") == LeadState.ACCEPTED.value and answers[i] == rejected)}


def wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """The leads `answered_by` asks LeadHistory about (the answer field's rows only)."""
    found = _answered(cx, records)
    return {i: NO_OWNER for i in found[1]} if found else {}


def answered_by(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> dict[str, str]:
    """{lead id: the user who set the answer it holds now} for these leads that hold an
    answer that means something to us (`_answered`). A lead whose history has no row
    setting that value (the field not tracked) is left out. `history`: the read batch's."""
    return {i: change.by for i, change in _answers(cx, records, history).items() if change.by}


def answered_at(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> dict[str, datetime]:
    """{lead id: when, by Salesforce's clock, the answer it holds was set}, as `answered_by`
    reads it: an acceptance saved after its offer's deadline is a lapse (jobs/poll.py), not
    taken because the connector happened to read it before lapsing the offer."""
    return {i: change.at for i, change in _answers(cx, records, history).items()}


def _answers(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None) -> dict[str, Change]:
    """{lead id: the LeadHistory row that set the answer the lead holds now} (read once a batch)."""
    found = _answered(cx, records)
    if not found or not found[1]:
        return {}
    field, answers = found
    rows = (history or LeadHistory(cx)).rows({i: NO_OWNER for i in answers})
    out: dict[str, Change] = {}
    for lead_id, changes in rows.items():
        last = newest(changes, [field])
        if last is not None and last.value == answers[lead_id]:
            out[lead_id] = last
    return out


def codes_given(cx: Context, records: list[dict[str, Any]], history: LeadHistory | None = None) -> dict[str, str]:
    """{lead id: the rejection code its rejecting rep picked} for these leads that hold a
    Rejected that means something to us: the newest value LeadHistory shows of the code field
    (Rejection_Reason_Code__c, history-tracked as shipped), where the user who set the
    Rejected set it. A rep answering on the Lead's page picks the code there, with or without
    words in Rejection_Reason__c; the portal component writes the code at the head of those
    words too (jobs/poll.rejection_words). Read from the rows `answered_by` reads: no query
    more. Where the code field is not the connector's to clear (left out) it is not read: an
    earlier partner's code could still be on the lead."""
    found, spelled, code_field = _answered(cx, records), response_values(cx), rejection_code_field(cx)
    if not found or not found[1] or not spelled or not code_field:
        return {}
    field, answers = found
    rejected = spelled[1]
    asked = {i: NO_OWNER for i, answer in answers.items() if answer == rejected}
    if not asked:
        return {}
    out: dict[str, str] = {}
    for lead_id, changes in (history or LeadHistory(cx)).rows(asked).items():
        answer, code = newest(changes, [field]), newest(changes, [code_field])
        if (answer is not None and answer.value == rejected and code is not None and code.by == answer.by
                and isinstance(code.value, str) and code.value.strip()):
            out[lead_id] = code.value.strip()
    return out
