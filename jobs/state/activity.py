"""The activity Tasks waiting for Salesforce's confirmation (jobs/activity.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Connection, func, select, update

from jobs.state import schema

T = schema.activity_tasks

WAITING = ("pending", "sent")  # not confirmed, not given up on


def add(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    """Queue Tasks (`lead_id`, `kind`, `setting`, `record`): their ids, in order."""
    ids = []
    for r in rows:  # one insert each: SQLite and PostgreSQL both hand back the id
        ids.append(conn.execute(T.insert().values(
            lead_id=r["lead_id"], kind=r["kind"], setting=r["setting"], record=r["record"], status="pending",
            attempts=0, next_at=now, created_at=now, updated_at=now)).inserted_primary_key[0])
    return ids


def get(conn: Connection, ids: Iterable[int]) -> list[dict[str, Any]]:
    ids = list(ids)
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):
        out += [dict(r._mapping) for r in conn.execute(select(T).where(T.c.id.in_(ids[i:i + 500])).order_by(T.c.id))]
    return out


def due(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Tasks waiting whose next try has come, oldest first (a `sent` one a crash left too)."""
    rows = conn.execute(select(T).where(T.c.status.in_(WAITING), T.c.next_at <= now).order_by(T.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def claim(conn: Connection, ids: list[int], now: datetime, next_at: datetime) -> set[int]:
    """Take these Tasks to send now: those still waiting and due (another connector's job, or
    this one's other job, may have taken some since they were read). Each taken is counted,
    dated (a Task created from now on may be this one) and not due again before `next_at`,
    should the answer never come."""
    won: set[int] = set()
    for entry_id in ids:  # one by one: which were won is what each statement changed
        changed = conn.execute(update(T).where(T.c.id == entry_id, T.c.status.in_(WAITING), T.c.next_at <= now).values(
            status="sent", attempts=T.c.attempts + 1, next_at=next_at, updated_at=now,
            first_sent_at=func.coalesce(T.c.first_sent_at, now))).rowcount
        if changed:
            won.add(entry_id)
    return won


def settle(conn: Connection, entry_id: int, status: str, now: datetime, *, task_id: str | None = None,
           error: str | None = None, next_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if task_id is not None:
        values["task_id"] = task_id
    if error is not None:
        values["last_error"] = error[:2000]
    if next_at is not None:
        values["next_at"] = next_at
    conn.execute(update(T).where(T.c.id == entry_id).values(**values))



def backlog(conn: Connection) -> dict[str, Any]:
    """The Tasks waiting to be written again, for `leadrouter status`: how many (and of which
    kind), the oldest, the next try, and the last error Salesforce gave (`{"waiting": 0}`
    when none wait)."""
    waiting = T.c.status.in_(WAITING)
    by_kind = {k: n for k, n in conn.execute(select(T.c.kind, func.count()).where(waiting).group_by(T.c.kind)
                                              .order_by(T.c.kind))}
    if not by_kind:
        return {"waiting": 0}
    oldest = conn.execute(select(T.c.lead_id, T.c.created_at).where(waiting).order_by(T.c.created_at, T.c.id)
                          .limit(1)).one()
    # a read-back that could not tell whether the last try landed leaves the error before it:
    # the newest error said is still the last Salesforce gave
    last = conn.execute(select(T.c.last_error, T.c.updated_at).where(waiting, T.c.last_error.is_not(None))
                        .order_by(T.c.updated_at.desc(), T.c.id.desc()).limit(1)).first()
    return {"waiting": sum(by_kind.values()), "by_kind": by_kind, "oldest": oldest.created_at,
            "oldest_lead": oldest.lead_id, "next_try": conn.execute(select(func.min(T.c.next_at)).where(waiting)).scalar(),
            "last_error": last.last_error if last else None, "last_error_at": last.updated_at if last else None}
