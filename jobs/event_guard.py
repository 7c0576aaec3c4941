"""The outbox guard from the change events, and its check after the fact.

While the lead topic is connected and caught up, the outbox guard asks the events, not
the REST API. A write decided on a lead the stream read at version V is stale if an
event since showed someone else (not our integration user) changing the lead after V;
no such event, no change as far as Salesforce has told us.

The race window this leaves is the events' delivery: a person's change committed after
our read (or after the newest event handled, if later) and before our write, whose event
had not reached us when the write went out — our own handling time plus the delivery
delay, and at most CAUGHT_UP, or the REST guard answers for that lead.

It is closed after the fact: every change event by someone else is compared, before
anything skips it, with our last confirmed write to that lead (the outbox, so a restart
replaying the events still checks). A change made after the version that write was
decided on, in fields the write set, whose values the lead no longer has while it has
ours, was overwritten by us: the person's values are written back, the lead released to
them, and the Lead's routing reason says so. Leads read before the subscription
(re)connected, and every flush of the scheduler's jobs, use the REST guard as in poll mode.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import select

from jobs.lead_words import label
from jobs.logging import get_logger

# The event guard answers for a lead while what the events cannot yet have told of (the
# time since our read of it, or since the newest event handled, whichever is later) is at
# most this long; beyond, the REST guard answers, as it would without the stream.
CAUGHT_UP = timedelta(seconds=10)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)

Suspects = dict[str, tuple[dict[str, Any], dict[str, Any]]]  # lead -> (their values, our write's payload)

log = get_logger(component="stream")


class EventGuard:
    """What the lead topic's events told of each lead, since the versions the stream read."""

    def __init__(self, cx: Any, live: Callable[[], bool]) -> None:
        self.cx = cx
        self._live = live  # the lead topic is connected
        self._read_at: dict[str, tuple[datetime, datetime, int]] = {}  # lead -> (SystemModstamp, read when, batch)
        self._changed_at: dict[str, datetime] = {}  # lead -> the newest version someone else made
        self._gap_in: dict[str, int] = {}  # lead -> the last batch a gap event named it in
        self._batches = 0
        self._newest_event = _NEVER  # commit time of the newest lead event handled
        self.answered = 0  # writes guarded by the events (for the benchmark and tests)
        self.undone = 0  # overwrites put back

    def read(self, lead: str, stamp: datetime, now: datetime) -> None:
        """The stream read this version of the lead (the one its decision is made on)."""
        self._read_at[lead] = (stamp, now, self._batches)

    def reconnected(self) -> None:
        """A new subscription: what was read before it is for the REST guard."""
        self._read_at.clear()
        self._changed_at.clear()
        self._gap_in.clear()
        self._newest_event = _NEVER

    def forget_before(self, horizon: datetime) -> None:
        self._read_at = {k: v for k, v in self._read_at.items() if v[1] >= horizon}
        self._changed_at = {k: v for k, v in self._changed_at.items() if v >= horizon}
        self._gap_in = {k: v for k, v in self._gap_in.items() if k in self._read_at}

    def note_changes(self, events: list[Any], ours: str | None) -> Suspects:
        """Remember who changed which lead when; return the leads whose last confirmed
        write of ours may have overwritten a change someone else made meanwhile."""
        theirs: dict[str, list[Any]] = {}
        self._batches += 1
        for e in events:
            self._newest_event = max(self._newest_event, e.commit_timestamp)
            if e.commit_user == ours or e.is_overflow or e.change_type in ("DELETE", "GAP_DELETE"):
                continue
            if e.is_gap:  # a change at some time before the event, of unknown version: what
                for lead in e.record_ids:  # a read after this batch sees, a read before may not
                    self._gap_in[lead] = self._batches
                continue
            version = _version(e)
            for lead in e.record_ids:
                if version > self._changed_at.get(lead, _NEVER):
                    self._changed_at[lead] = version
                if e.change_type == "UPDATE":
                    theirs.setdefault(lead, []).append(e)
        if not theirs:
            return {}
        from jobs.state.schema import outbox as t

        with self.cx.store.connect() as conn:
            rows = conn.execute(select(t.c.lead_id, t.c.payload, t.c.seen_modstamp)
                                .where(t.c.lead_id.in_(list(theirs)), t.c.status == "confirmed")
                                .order_by(t.c.id)).all()
        last = {r.lead_id: r for r in rows}  # our write the lead shows, if any still does
        suspects: Suspects = {}
        for lead, row in last.items():
            if row.seen_modstamp is None:
                continue
            values: dict[str, Any] = {}
            for e in theirs[lead]:  # in commit order: the later value of a field wins
                if _version(e) <= row.seen_modstamp:
                    continue  # our write was decided on this change: nothing of theirs lost
                for f in (*e.changed_fields, *e.nulled_fields):
                    if f in row.payload:
                        values[f] = None if f in e.nulled_fields else _as_written(e.values.get(f))
            if values:
                suspects[lead] = (values, row.payload)
        return suspects

    def undo_overwrites(self, suspects: Suspects, records: list[dict[str, Any]], now: datetime) -> set[str]:
        """Leads whose fields hold our write's values where someone else's later change
        had set others: our write landed after their change (its event came too late for
        the guard). Their values go back, the lead is theirs, and the Lead says why."""
        from jobs import leads, lifecycle
        from jobs.outbox import same_value

        undone: set[str] = set()
        for rec in records:
            if rec["Id"] not in suspects:
                continue
            values, payload = suspects[rec["Id"]]
            lost = sorted(f for f, v in values.items() if f in rec and same_value(rec[f], payload[f])
                          and not same_value(v, payload[f]))
            if not lost:
                continue  # their change stands (it came after our write), or they chose what we wrote
            # the fields by the labels on the page (Lead Owner, not OwnerId): an admin reads it
            reason = (f"a person changed {', '.join(label(f) for f in lost)} while our write was on its way; our "
                      "write had replaced their change, which is put back")
            update = {**lifecycle.released_update(self.cx, reason), **{f: values[f] for f in lost}}
            with self.cx.store.begin() as conn:
                state = lifecycle.load_state(conn, [rec["Id"]])
                lifecycle.release(conn, state, rec["Id"], reason, now, modstamp=leads.modstamp(rec),
                                  lead_update=update)
                lifecycle.save_state(conn, state, now)
            log.warning("stream_overwrite_undone", lead_id=rec["Id"], fields=lost)
            undone.add(rec["Id"])
        self.undone += len(undone)
        return undone

    def answer(self, entries: list[dict[str, Any]]) -> tuple[dict[str, datetime], list[dict[str, Any]]]:
        """outbox.current_modstamps' answer from the events, for entries decided on a version
        of the lead this subscription read; (answers, entries left for the REST guard)."""
        answered: dict[str, datetime] = {}
        rest: list[dict[str, Any]] = []
        now = self.cx.clock.now()
        live = self._live()
        for e in entries:
            lead, seen = e["lead_id"], e["seen_modstamp"]
            if seen is None:
                continue  # nothing to compare with: fresh either way (outbox.split_stale)
            read = self._read_at.get(lead)
            if not live or read is None or read[0] != seen or now - max(read[1], self._newest_event) > CAUGHT_UP:
                rest.append(e)
                continue
            changed = self._changed_at.get(lead)
            if self._gap_in.get(lead, 0) > read[2]:
                answered[lead] = seen + timedelta(microseconds=1)  # changed after our read: stale
            else:
                answered[lead] = changed if changed is not None and changed > seen else seen
            if answered[lead] != seen:  # read again by the flush; what it decides, the REST guard guards
                del self._read_at[lead]
        self.answered += len(answered)
        return answered, rest


def _version(event: Any) -> datetime:
    """The version of the lead an event reports: its LastModifiedDate when the event
    carries it (the field our reads see), else the commit time."""
    value = event.values.get("LastModifiedDate")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, int):  # epoch milliseconds, as Salesforce's schemas type datetimes
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    return event.commit_timestamp


def _as_written(value: Any) -> Any:
    """An event's value as the REST API takes it back."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
