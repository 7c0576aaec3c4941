"""The outbox (decided writes Salesforce has not confirmed) and the decision audit."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, func, select, update

from jobs.state import schema
from jobs.state import store as st

OB = schema.outbox
D = schema.decisions

OPEN = ("pending", "sent")


def _ids_of(conn: Connection, lead_ids: list[str], statuses: tuple[str, ...]) -> list[int]:
    """Entry ids of these leads in these statuses, found by lead (the status is filtered
    here: with both in SQL, SQLite's planner scanned every pending entry per page)."""
    return [i for i, status in st.where_in(conn, OB, ("id", "status"), "lead_id", lead_ids) if status in statuses]


def _set_by_id(conn: Connection, ids: list[int], **values: Any) -> None:
    st.update_in(conn, OB, "id", ids, **values)


def add(conn: Connection, *, lead_id: str, purpose: str, payload: dict[str, Any], now: datetime,
        seen_modstamp: datetime | None = None, offer_id: int | None = None) -> int:
    # A newer decision for the same lead supersedes an older write not yet sent.
    _set_by_id(conn, _ids_of(conn, [lead_id], ("pending",)), status="dropped",
               last_error="superseded by a newer decision", updated_at=now)
    return conn.execute(OB.insert().values(
        lead_id=lead_id, purpose=purpose, payload=payload, seen_modstamp=seen_modstamp,
        offer_id=offer_id, status="pending", created_at=now, updated_at=now, attempts=0,
    )).inserted_primary_key[0]


def drop_open(conn: Connection, lead_id: str, reason: str, now: datetime) -> None:
    _set_by_id(conn, _ids_of(conn, [lead_id], OPEN), status="dropped", last_error=reason[:2000], updated_at=now)


def add_many(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """`add` for many leads: one supersede statement and one insert."""
    if not rows:
        return
    _set_by_id(conn, _ids_of(conn, [r["lead_id"] for r in rows], ("pending",)), status="dropped",
               last_error="superseded by a newer decision", updated_at=now)
    st.insert_rows(conn, OB, [(r.get("offer_id"), r["lead_id"], r["purpose"], r["payload"], r.get("seen_modstamp"),
                               "pending", now, now, 0) for r in rows], names=_NEW)


_NEW = ("offer_id", "lead_id", "purpose", "payload", "seen_modstamp", "status", "created_at", "updated_at", "attempts")


def open_entries(conn: Connection, limit: int = 10_000) -> list[dict[str, Any]]:
    rows = conn.execute(select(OB).where(OB.c.status.in_(OPEN)).order_by(OB.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def pending_after(conn: Connection, after_id: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(OB).where(OB.c.status == "pending", OB.c.id > after_id).order_by(OB.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def open_lead_ids(conn: Connection, lead_ids: Iterable[str]) -> set[str]:
    ids = list(lead_ids)
    out: set[str] = set()
    for i in range(0, len(ids), 500):  # by lead alone, status filtered here (see offers._by_lead)
        out.update(r[0] for r in conn.execute(
            select(OB.c.lead_id, OB.c.status).where(OB.c.lead_id.in_(ids[i:i + 500]))) if r[1] in OPEN)
    return out


def open_by_lead(conn: Connection, lead_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(lead_ids)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        for r in st.rows_in(conn, OB, "lead_id", ids[i:i + 500], order_by="id"):
            if r["status"] in OPEN:  # filtered here, not in SQL (see offers._by_lead)
                out[r["lead_id"]] = r
    return out


def mark(conn: Connection, ids: Iterable[int], status: str, now: datetime, error: str | None = None,
         count_attempt: bool = False) -> None:
    ids = list(ids)
    if not ids:
        return
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if error is not None:
        values["last_error"] = error[:2000]
    if count_attempt:
        values["attempts"] = OB.c.attempts + 1
    for i in range(0, len(ids), 500):
        conn.execute(update(OB).where(OB.c.id.in_(ids[i:i + 500])).values(**values))


def set_seen(conn: Connection, entry_id: int, modstamp: datetime | None) -> None:
    """The version of the lead this entry is now meant for (its SystemModstamp)."""
    _set_by_id(conn, [entry_id], seen_modstamp=modstamp)


def status_counts(conn: Connection) -> dict[str, int]:
    return {s: n for s, n in conn.execute(select(OB.c.status, func.count()).group_by(OB.c.status))}


def oldest_open(conn: Connection) -> datetime | None:
    return conn.execute(select(func.min(OB.c.created_at)).where(OB.c.status.in_(OPEN))).scalar()


def unwritten_refusals(conn: Connection, marker: str = "Salesforce refused every write") -> list[dict[str, Any]]:
    """Leads Salesforce refused every write of, even the Unroutable status (jobs/outbox.py:
    the entry's error says so), that nothing of ours has written since: `leadrouter status`
    lists them, with the error, until a person routes the lead again."""
    rows = conn.execute(select(OB.c.id, OB.c.lead_id, OB.c.updated_at, OB.c.last_error).where(
        OB.c.purpose == "refused", OB.c.status == "dropped", OB.c.last_error.like(f"{marker}%")).order_by(OB.c.id))
    found = {r.lead_id: r for r in rows}
    if not found:
        return []
    later = {lead_id for lead_id, entry_id in st.where_in(conn, OB, ("lead_id", "id"), "lead_id", list(found))
             if entry_id > found[lead_id].id}
    return [{"lead_id": r.lead_id, "at": r.updated_at, "error": r.last_error}
            for lead_id, r in found.items() if lead_id not in later]


# --- decision audit ------------------------------------------------------------------

def record_decision(conn: Connection, *, lead_id: str, at: datetime, kind: str, rule: str | None,
                    partner_id: str | None, attempt: int | None, decision: dict[str, Any]) -> None:
    conn.execute(D.insert().values(lead_id=lead_id, at=at, kind=kind, rule=rule, partner_id=partner_id,
                                   attempt=attempt, decision=decision))


def record_decisions(conn: Connection, rows: list[Any], *, names: Sequence[str] | None = None) -> None:
    st.insert_rows(conn, D, rows, names=names)


def last_decision(conn: Connection, lead_id: str) -> dict[str, Any] | None:
    """The lead's latest decision in the audit, as stored (None when the audit no longer has it)."""
    row = conn.execute(select(D.c.decision).where(D.c.lead_id == lead_id).order_by(D.c.id.desc()).limit(1)).first()
    return row[0] if row and isinstance(row[0], dict) else None


def offer_reason(conn: Connection, lead_id: str, attempt: int | None) -> str | None:
    """The reason the decision that made the lead's offer at `attempt` gave (what the Lead
    said when it was offered), or None when the audit no longer has it."""
    row = conn.execute(select(D.c.decision).where(D.c.lead_id == lead_id, D.c.attempt == attempt,
                                                  D.c.kind.in_(("offer", "pool")))
                       .order_by(D.c.id.desc()).limit(1)).first()
    reason = (row[0] or {}).get("reason") if row else None
    return reason[:255] if isinstance(reason, str) else None
