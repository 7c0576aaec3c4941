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
"""
from __future__ import annotations

from collections.abc import Sequence
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.errors import ConnectorError
from connector.notify import Notification, NotifyResult
from connector.writes import BATCH_SIZE
from jobs.logging import redact_text


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
    """Write these Tasks; `counts` gets `{kind}_tasks` and `{kind}_tasks_failed`. A run's
    first failure is warned about, with the fix (`warned`: the run has been told already)."""
    if not marks:
        return
    day = cx.book.settings.calendar.day(now).date()  # the org's date, from the org's clock
    records: list[dict[str, Any]] = [{
        "WhoId": m.lead_id, "Subject": m.subject[:255], "Description": m.description[:32_000],
        "Status": "Completed", "Priority": "Normal", "ActivityDate": day, "TaskSubtype": "Task",
    } for m in marks]
    failed: list[tuple[str, str | None, str | None]] = []
    for start in range(0, len(records), BATCH_SIZE):  # a call refused costs its own Tasks only
        batch = marks[start:start + BATCH_SIZE]
        try:
            results = cx.client.create("Task", records[start:start + BATCH_SIZE])
            failed += [(m.lead_id, r.code, r.message) for m, r in zip(batch, results) if not r.ok]
        except ConnectorError as e:
            failed += [(m.lead_id, e.failure.code, e.failure.message) for m in batch]
    written = len(marks) - len(failed)
    warned = warned or counts.get(f"{kind}_tasks_failed", 0) > 0
    if written:
        counts[f"{kind}_tasks"] = counts.get(f"{kind}_tasks", 0) + written
    # a lead deleted or converted in the org since the state last read it has nowhere to show
    # the Task and nobody looking: counted, no warning (nothing to fix)
    gone = [f for f in failed if f[1] in LEAD_GONE]
    failed = [f for f in failed if f[1] not in LEAD_GONE]
    if gone:
        counts[f"{kind}_tasks_lead_gone"] = counts.get(f"{kind}_tasks_lead_gone", 0) + len(gone)
    if not failed:
        return
    counts[f"{kind}_tasks_failed"] = counts.get(f"{kind}_tasks_failed", 0) + len(failed)
    if warned:
        return
    lead_id, code, message = failed[0]
    cx.log(component="activity").warning(
        "activity_tasks_not_written", kind=kind, failed=len(failed), lead_id=lead_id, code=code,
        message=(message or "")[:300], note=f"the {kind}s went out; only their Task on the Lead is missing",
        fix=_fix(code or "", setting))


def _fix(code: str, setting: str) -> str:
    off = f"or set [notifications] {setting} = \"off\""
    if code.startswith(_REFUSED):
        return f"{PERMISSION_FIX}, {off}"
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
        return f"a validation rule on Task refused it: let the integration user's Tasks through, {off}"
    return f"if Salesforce's message names a permission: {PERMISSION_FIX}; {off}"
