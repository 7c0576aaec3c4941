"""What a notification leaves on the Lead: a completed Task in its activity history.

An admin looking at a lead sees there whether its rep was reminded, or alerted of the
offer, and if not, why — Salesforce's own record of something done about a lead, with
no custom metadata to deploy. Each Task: WhoId the lead, Status Completed, ActivityDate
the org's date (its clock, its time zone: the rule book's `time_zone`), the deadline in
UTC and in the recipients' zones. Partner reps can read a lead's activities, a later
partner's reps too: the text names no partner and no person.

Written in the run that notified, 200 a call (sObject Collections). The notification is
marked in the state before it goes out, so a Task that cannot be written (the
integration user lacks Edit Tasks, a validation rule on Task) neither loses nor repeats
it: one warning per run names the fix, the count says how many leads show nothing. A
lead deleted or converted since the state last read it is only counted (`_lead_gone`).
A Task Salesforce could not take for a while (a 503 or 500, a lost answer, the day's API
allowance spent) waits in the state (table activity_tasks) and the outbox job tries it
again with a growing wait; a retry first reads back whether the last try landed (lead,
Subject, Description, created since), so none shows twice.
"""
from __future__ import annotations

from collections.abc import Sequence
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connector.errors import ConnectorError
from connector.notify import Notification, NotifyResult
from connector.soql import format_soql, id_chunks, select, soql_datetime
from connector.writes import BATCH_SIZE
from jobs.logging import redact_text
from jobs.state import activity as tasks_state
from jobs.timeutil import parse_sf_datetime


# every Subject a reminder's or a follow-up's Task may have (jobs/remind.py, jobs/followup.py):
# a state rebuilt from the org takes an offer (an accepted lead) whose Lead holds one of these
# as reminded (followed up), whatever the outcome said (jobs/recovery.py). Kept here, with the
# Tasks, so that the rebuild reads them without importing the jobs that write them.
REMINDER_SUBJECTS = ("Offer reminder sent", "Offer reminder not sent by email", "Offer reminder partly sent",
                     "Offer reminder may not have been sent", "Offer reminder not sent")
FOLLOWUP_SUBJECTS = ("Follow-up reminder sent", "Follow-up reminder not sent by email",
                     "Follow-up reminder may not have been sent", "Follow-up reminder not sent")

# what a refusal of the Task itself (not of one lead) looks like
_REFUSED = ("INSUFFICIENT_ACCESS", "INVALID_TYPE", "NOT_FOUND", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY")
LEAD_GONE = frozenset(("ENTITY_IS_DELETED", "CANNOT_UPDATE_CONVERTED_LEAD"))
PERMISSION_FIX = ("give the integration user the Edit Tasks permission (EditTask: deploy salesforce/ and its "
                  "LeadRouter_Integration permission set)")


_USER_ID = re.compile(r"\b005[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?\b")  # a User's id, 15 or 18 characters
HOW = {"email": "by email", "custom": "by a Salesforce notification"}  # how people were told, by mode


def users(n: int, of: str) -> str:
    """Who was told, never by name (a later partner's reps read the activities): "2 users of the pool"."""
    return f"{n} user{'s' if n != 1 else ''} of the {of}"


def send(cx, mode: str, notes: Sequence[Notification], *, log: Any, event: str, config_fix: str | None = None,
         **fields: Any) -> list[NotifyResult]:
    """Send the notifications. A call refused as a whole (or a mode the config cannot serve:
    `config_fix` says what to set) marks each one failed with why, so each lead can say so:
    the caller marked them sent already, and they are not sent again."""
    if not notes:
        return []
    try:
        return cx.client.notify(mode, list(notes))
    except (ConnectorError, ValueError) as e:
        code = e.failure.code if isinstance(e, ConnectorError) else "NOT_SENT"
        log.warning(event, notifications=len(notes), code=code, error=str(e)[:300], **fields,
                    **({"fix": config_fix} if config_fix and isinstance(e, ValueError) else {}))
        return [NotifyResult(n, False, code, str(e)) for n in notes]


@dataclass(frozen=True, slots=True)
class Mark:
    """One Task to write: the lead, what happened (Subject), and the words for an admin."""

    lead_id: str
    subject: str
    description: str


def reason(code: str | None, message: str | None) -> str:
    """Salesforce's refusal as a Task may show it: a later partner's reps can read it, so an
    address, phone number or user id it names (a rep's, another partner's) is left out."""
    return f"{code}: {_USER_ID.sub('[user]', redact_text(message or ''))[:500]}"


def wanted(cx, setting: str, sent: bool) -> bool:
    """Whether a Task is written for this outcome: [notifications] `setting` is all, failed or off."""
    mode = getattr(cx.settings.notifications, setting, "all")
    return mode == "all" or (mode == "failed" and not sent)


def write(cx, now: datetime, marks: Sequence[Mark], *, kind: str, setting: str, counts: dict[str, int],
          warned: bool = False) -> None:
    """Write these Tasks; `counts` gets `{kind}_tasks`, `{kind}_tasks_failed` (refused: one
    warning a run names the fix; `warned`: the run has been told already) and
    `{kind}_tasks_retrying` (Salesforce could not take them for now: a later run writes them).

    Each Task is queued in the state before it goes out, so one Salesforce did not take —
    a 503, an answer lost on the way back, the API allowance spent, a crash — is written by
    a later outbox run (`retry`) rather than lost; that run first reads back whether the
    last try landed, so a Task is never written twice."""
    if not marks:
        return
    day = cx.book.settings.calendar.day(now).date().isoformat()  # the org's date, from the org's clock
    rows = [{"lead_id": m.lead_id, "kind": kind, "setting": setting, "record": {
        "WhoId": m.lead_id, "Subject": m.subject[:255], "Description": m.description[:32_000],
        "Status": "Completed", "Priority": "Normal", "ActivityDate": day, "TaskSubtype": "Task",
    }} for m in marks]
    with cx.store.begin() as conn:
        entries = tasks_state.get(conn, tasks_state.add(conn, rows, now))
    _send(cx, now, entries, counts, warned=warned)


RETRY_BATCH = 2_000  # Tasks tried again a run, oldest first
FIRST_WAIT = timedelta(minutes=1)  # before the first retry; doubled each time, up to LONGEST_WAIT
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)  # a Task Salesforce has not taken in this long is given up, with a warning
# a Task the read-back finds created this long before the try it answers for is still that try's
# (the org's clock and the one the try was dated by may differ by a second or so)
LANDED_SLACK = timedelta(minutes=1)


def retry(cx, now: datetime) -> dict[str, int]:
    """Write the Tasks whose next try has come (run by the outbox job): counts as `write`'s."""
    counts: dict[str, int] = {}
    with cx.store.connect() as conn:
        entries = tasks_state.due(conn, now, RETRY_BATCH)
    if entries:
        _send(cx, now, entries, counts)
    return counts


def _wait(attempts: int) -> timedelta:
    return min(FIRST_WAIT * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _send(cx, now: datetime, entries: list[dict[str, Any]], counts: dict[str, int], *, warned: bool = False) -> None:
    tried = [e for e in entries if e["attempts"]]
    landed = _landed(cx, tried)
    failed: dict[str, list[tuple[str, str | None, str | None]]] = {}  # by kind: (lead, code, message)
    with cx.store.begin() as conn:
        for e in tried:
            if landed is None:  # not knowing whether the last try landed, none is sent: a later run reads again
                tasks_state.settle(conn, e["id"], "pending", now, next_at=now + _wait(e["attempts"]))
                _count(counts, e, "tasks_retrying")
            elif e["id"] in landed:
                tasks_state.settle(conn, e["id"], "confirmed", now, task_id=landed[e["id"]])
                _count(counts, e, "tasks")
    entries = [e for e in entries if not e["attempts"] or (landed is not None and e["id"] not in landed)]
    for start in range(0, len(entries), BATCH_SIZE):  # a call refused costs its own Tasks only
        batch = entries[start:start + BATCH_SIZE]
        attempts = {e["id"]: e["attempts"] + 1 for e in batch}
        with cx.store.begin() as conn:  # dated before it goes: a crash now leaves it to be read back
            won = tasks_state.claim(conn, list(attempts), now, now + _wait(max(attempts.values())))
        batch = [e for e in batch if e["id"] in won]
        if not batch:
            continue
        try:
            results = cx.client.create("Task", [e["record"] for e in batch])
            outcomes = [(r.ok, r.id, r.kind, r.code, r.message) for r in results]
        except ConnectorError as e:
            # transient: a 5xx, a dropped connection or a lost answer (it may have landed: read
            # back before the next try); budget: the day's API allowance is spent
            kind = "transient" if e.failure.kind in ("transient", "budget", "session") else "permanent"
            outcomes = [(False, None, kind, e.failure.code, e.failure.message)] * len(batch)
        with cx.store.begin() as conn:
            for entry, (ok, task_id, kind, code, message) in zip(batch, outcomes):
                error = f"{code}: {(message or '')[:500]}"
                if ok:
                    tasks_state.settle(conn, entry["id"], "confirmed", now, task_id=task_id)
                    _count(counts, entry, "tasks")
                elif code in LEAD_GONE:
                    # a lead deleted or converted since the state last read it has nowhere to show
                    # the Task and nobody looking: counted, no warning (nothing to fix)
                    tasks_state.settle(conn, entry["id"], "dropped", now, error=error)
                    _count(counts, entry, "tasks_lead_gone")
                elif kind == "transient" and now - entry["created_at"] < GIVE_UP_AFTER:
                    tasks_state.settle(conn, entry["id"], "pending", now, error=error,
                                       next_at=now + _wait(attempts[entry["id"]]))
                    _count(counts, entry, "tasks_retrying")
                else:
                    tasks_state.settle(conn, entry["id"], "dropped", now, error=error)
                    failed.setdefault(entry["kind"], []).append((entry["lead_id"], code, message))
    retrying = sum(v for k, v in counts.items() if k.endswith("_tasks_retrying"))
    if retrying:
        cx.log(component="activity").info(
            "activity_tasks_retrying", tasks=retrying, note="Salesforce could not take these Tasks for now; a later "
                                                           "outbox run writes them, once each")
    for kind, rows in failed.items():
        setting = next(e["setting"] for e in entries if e["kind"] == kind)
        already = warned or counts.get(f"{kind}_tasks_failed", 0) > 0
        counts[f"{kind}_tasks_failed"] = counts.get(f"{kind}_tasks_failed", 0) + len(rows)
        if already:
            continue
        lead_id, code, message = rows[0]
        cx.log(component="activity").warning(
            "activity_tasks_not_written", kind=kind, failed=len(rows), lead_id=lead_id, code=code,
            message=(message or "")[:300], note=f"the {kind}s went out; only their Task on the Lead is missing",
            fix=_fix(code or "", setting))


def _count(counts: dict[str, int], entry: dict[str, Any], what: str) -> None:
    key = f"{entry['kind']}_{what}"
    counts[key] = counts.get(key, 0) + 1


def _landed(cx, entries: list[dict[str, Any]]) -> dict[int, str] | None:
    """Of Tasks tried before, those Salesforce holds (by id: the Task's): the same lead,
    Subject and Description, created since the first try. An answer lost on the way back
    leaves a Task written that we never heard of; writing it again would show it twice.
    None: the read failed, and what landed is unknown."""
    if not entries:
        return {}
    since = min(e["first_sent_at"] or e["created_at"] for e in entries) - LANDED_SLACK
    leads = sorted({e["lead_id"] for e in entries})
    subjects = sorted({e["record"]["Subject"] for e in entries})
    found: list[dict[str, Any]] = []
    try:
        for chunk in id_chunks(leads, lambda ids: _landed_soql(ids, subjects, since)):
            found += list(cx.client.query(_landed_soql(chunk, subjects, since)))
    except ConnectorError as e:
        # not knowing what landed, nothing is sent: a later run reads back again
        cx.log(component="activity").info("activity_tasks_read_back_failed", code=e.failure.code,
                                          message=e.failure.message[:300])
        return None
    out: dict[int, str] = {}
    taken: set[str] = set()
    for e in entries:
        tried = (e["first_sent_at"] or e["created_at"]) - LANDED_SLACK
        for t in found:
            if t["Id"] in taken or t.get("WhoId") != e["lead_id"] or t.get("Subject") != e["record"]["Subject"]:
                continue
            if (t.get("Description") or "") != e["record"]["Description"]:
                continue
            created = parse_sf_datetime(t.get("CreatedDate"))
            if created is not None and created < tried:
                continue
            taken.add(t["Id"])
            out[e["id"]] = t["Id"]
            break
    return out


def _landed_soql(lead_ids: list[str], subjects: list[str], since: datetime) -> str:
    return select("Task", ["Id", "WhoId", "Subject", "Description", "CreatedDate"],
                  where=format_soql("WhoId IN {} AND Subject IN {} AND CreatedDate >= {}",
                                    lead_ids, subjects, soql_datetime(since)))


def _fix(code: str, setting: str) -> str:
    off = f"or set [notifications] {setting} = \"off\""
    if code.startswith(_REFUSED):
        return f"{PERMISSION_FIX}, {off}"
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
        return f"a validation rule on Task refused it: let the integration user's Tasks through, {off}"
    return f"if Salesforce's message names a permission: {PERMISSION_FIX}; {off}"
