"""Offers, the leads they belong to, and the partners a lead must not go back to."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from jobs.state import schema
from jobs.state import store as st

O = schema.offers
L = schema.leads
X = schema.exclusions


class LiveOfferExists(RuntimeError):
    """The database refused a second live offer for one lead."""


def _chunks(ids: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


# --- leads ---------------------------------------------------------------------------

def get_leads(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {r["lead_id"]: r for r in st.rows_in(conn, L, "lead_id", list(ids))}


def put_lead(conn: Connection, lead_id: str, now: datetime, **fields: Any) -> None:
    """The lead's row, these fields changed. A new state given without a rule clears the
    rule: it was the mark of the decision that put the lead in its former state."""
    row = {"lead_id": lead_id, "updated_at": now, **fields}
    if "state" in fields:
        row.setdefault("rule", None)
    existing = conn.execute(select(L.c.lead_id).where(L.c.lead_id == lead_id)).first()
    if existing:
        conn.execute(update(L).where(L.c.lead_id == lead_id).values(**row))
    else:
        row.setdefault("attempt", 0)
        conn.execute(L.insert().values(**row))


def note_seen(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Known leads read again with nothing of ours changed: their latest record, status
    and SystemModstamp, in one statement for the page."""
    if not rows:
        return
    from sqlalchemy import bindparam

    stmt = update(L).where(L.c.lead_id == bindparam("b_lead_id")).values(
        modstamp=bindparam("b_modstamp"), status=bindparam("b_status"), record=bindparam("b_record"), updated_at=now)
    conn.execute(stmt, [{"b_lead_id": r["lead_id"], "b_modstamp": r["modstamp"], "b_status": r["status"],
                         "b_record": r["record"]} for r in rows])


def lead_state_counts(conn: Connection) -> dict[str, int]:
    return {s: n for s, n in conn.execute(select(L.c.state, func.count()).group_by(L.c.state))}


def leads_in_state(conn: Connection, state: str, rule: str, reason_prefix: str | None = None,
                   limit: int = 10_000) -> list[dict[str, Any]]:
    """The leads in `state` put there by a decision of `rule` (held escalations:
    jobs/lifecycle.py), or — rows written before the rule was kept — whose reason starts
    with `reason_prefix`; oldest change first."""
    marked = L.c.rule == rule
    if reason_prefix is not None:
        marked = or_(marked, (L.c.rule.is_(None) & L.c.reason.like(f"{reason_prefix}%")))
    rows = conn.execute(select(L).where(L.c.state == state, marked)
                        .order_by(L.c.updated_at, L.c.lead_id).limit(limit))
    return [dict(r._mapping) for r in rows]


# --- offers --------------------------------------------------------------------------

def insert_offer(conn: Connection, **values: Any) -> int:
    """Insert a live offer; the partial unique index turns a double offer into an error."""
    values.setdefault("status", "live")
    try:
        with conn.begin_nested():
            return conn.execute(O.insert().values(**values)).inserted_primary_key[0]
    except IntegrityError as e:
        raise LiveOfferExists(f"lead {values.get('lead_id')} already has a live offer") from e


def insert_offers(conn: Connection, rows: list[Any], *, names: Sequence[str] | None = None) -> dict[str, int]:
    """Insert many live offers in one statement (rows as `store.insert_rows` takes them);
    {lead_id: offer id}. A duplicate live offer fails the statement, and the rows are then
    retried one by one so the error names the lead."""
    if not rows:
        return {}
    try:
        with conn.begin_nested():
            return {lead_id: offer_id for offer_id, lead_id in st.insert_rows(conn, O, rows, names=names,
                                                                              returning=("id", "lead_id"))}
    except IntegrityError:
        dicts = rows if names is None else [dict(zip(names, r)) for r in rows]
        return {r["lead_id"]: insert_offer(conn, **r) for r in dicts}


# Per-lead reads select by lead id alone and filter the status here: given `lead_id IN
# (…) AND status = 'live'`, SQLite's planner took the status index and scanned every
# live offer for each page of 200 leads — a burst of 40,000 offers went quadratic.
# A lead has a handful of offers at most, so reading them all by lead costs nothing.

def _by_lead(conn: Connection, lead_ids: Iterable[str], statuses: tuple[str, ...]) -> Iterable[dict[str, Any]]:
    for chunk in _chunks(list(lead_ids)):
        for r in st.rows_in(conn, O, "lead_id", chunk, order_by="id"):
            if r["status"] in statuses:
                yield r


def live_offers(conn: Connection, lead_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {r["lead_id"]: r for r in _by_lead(conn, lead_ids, ("live",))}


def live_offers_of(conn: Connection, *, partner_ids: list[str], rep_ids: list[str]) -> list[dict[str, Any]]:
    """Live offers held by any of these partners or reps (the rep owning the lead now: a
    colleague it was passed to holds it)."""
    out: dict[int, dict[str, Any]] = {}
    for column, ids in ((O.c.partner_id, partner_ids), (O.c.owner_id, rep_ids)):
        for chunk in _chunks(ids):
            for r in conn.execute(select(O).where(O.c.status == "live", column.in_(chunk))):
                out[r.id] = dict(r._mapping)
    return [out[k] for k in sorted(out)]


def live_partner_ids(conn: Connection) -> list[str]:
    """The partners holding a live offer."""
    rows = conn.execute(select(O.c.partner_id).where(O.c.status == "live", O.c.partner_id.is_not(None)).distinct())
    return [r[0] for r in rows]


def accepted_offers(conn: Connection, lead_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The latest accepted offer per lead (the one follow-up watches)."""
    return {r["lead_id"]: r for r in _by_lead(conn, lead_ids, ("accepted",))}


def every_accepted_offer(conn: Connection, lead_id: str) -> list[dict[str, Any]]:
    """All of the lead's accepted offers: a distributor's stays accepted beside the one
    of the reseller it handed the lead down to."""
    return list(_by_lead(conn, [lead_id], ("accepted",)))


def get_offer(conn: Connection, offer_id: int) -> dict[str, Any] | None:
    r = conn.execute(select(O).where(O.c.id == offer_id)).first()
    return dict(r._mapping) if r else None


def offers_for_lead(conn: Connection, lead_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(O).where(O.c.lead_id == lead_id).order_by(O.c.id))]


def set_offer(conn: Connection, offer_id: int, **values: Any) -> None:
    conn.execute(update(O).where(O.c.id == offer_id).values(**values))


def claim(conn: Connection, offer_ids: Iterable[int], mark: str, status: str | None, now: datetime) -> set[int]:
    """The offers (still in `status`, unless None) whose `mark` (alerted_at, reminded_at,
    followup_at) this call sets: each once, in one statement a second connector on the same
    state (a standby taking over, an old leader waking from a pause) cannot also win. Only
    what is won is sent."""
    column = O.c[mark]
    ids = list(offer_ids)
    won: set[int] = set()
    for i in range(0, len(ids), 500):
        where = [O.c.id.in_(ids[i:i + 500]), column.is_(None)]
        if status is not None:
            where.append(O.c.status == status)
        q = update(O).where(*where).values({mark: now}).returning(O.c.id)
        won.update(conn.execute(q).scalars())
    return won


def close_offer(conn: Connection, offer_id: int, status: str, reason: str | None, now: datetime) -> bool:
    """Move a live offer to a final status; False if it was no longer live."""
    res = conn.execute(update(O).where(O.c.id == offer_id, O.c.status == "live").values(
        status=status, close_reason=(reason or "")[:255] or None, closed_at=now))
    return res.rowcount == 1


def expired_offers(conn: Connection, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    rows = conn.execute(select(O).where(O.c.status == "live", O.c.deadline.is_not(None), O.c.deadline <= now)
                        .order_by(O.c.deadline, O.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def offers_to_remind(conn: Connection, now: datetime, lead_time: timedelta, limit: int = 1000) -> list[dict[str, Any]]:
    """Live offers not yet reminded whose deadline is within `lead_time` of `now` (of wall
    time: the caller widens it for windows counted in working hours, and picks from these)."""
    rows = conn.execute(select(O).where(
        O.c.status == "live", O.c.reminded_at.is_(None), O.c.deadline.is_not(None),
        O.c.deadline > now, O.c.deadline <= now + lead_time).order_by(O.c.deadline).limit(limit))
    return [dict(r._mapping) for r in rows]


def accepted_untouched(conn: Connection, accepted_before: datetime, untouched_status: str,
                       limit: int = 1000) -> list[dict[str, Any]]:
    """Accepted offers older than the cut-off whose lead still shows the untouched Status,
    each the offer of the partner holding the lead now: a distributor that handed the lead
    down holds it no more while a reseller's later offer is live or accepted (as lead_facts
    reads the holder), so its rep is not followed up, nor its acceptance reclaimed. Each
    with `lead_owner`, the owner the state last saw (a colleague the rep passed it to)."""
    later = O.alias("later")
    handed_on = (select(later.c.id).where(later.c.lead_id == O.c.lead_id, later.c.id > O.c.id,
                                          later.c.status.in_(("live", "accepted")))).exists()
    rows = conn.execute(
        select(O, L.c.status.label("lead_status"), L.c.owner_id.label("lead_owner"))
        .join(L, L.c.lead_id == O.c.lead_id)
        .where(O.c.status == "accepted", O.c.accepted_at <= accepted_before,
               L.c.state == "accepted", L.c.status == untouched_status, ~handed_on)
        .order_by(O.c.accepted_at).limit(limit))
    return [dict(r._mapping) for r in rows]


def offer_status_counts(conn: Connection) -> dict[str, int]:
    return {s: n for s, n in conn.execute(select(O.c.status, func.count()).group_by(O.c.status))}


def next_deadline(conn: Connection) -> datetime | None:
    return conn.execute(select(func.min(O.c.deadline)).where(O.c.status == "live")).scalar()


# --- exclusions ----------------------------------------------------------------------

def exclude(conn: Connection, lead_id: str, partner_id: str, outcome: str, reason: str | None, now: datetime) -> None:
    conn.execute(X.insert().values(lead_id=lead_id, partner_id=partner_id, outcome=outcome,
                                   reason=(reason or "")[:255] or None, at=now))


def lead_facts(conn: Connection, lead_ids: Iterable[str]) -> tuple[dict[str, dict[str, str]], dict[str, str],
                                                                dict[str, str]]:
    """What the engine must know of these leads, from rows: the targets (partners, pool
    queues) barred from each with how they declined, the partner holding each (a live
    or accepted offer), and the rule of each lead's current offer."""
    excluded: dict[str, dict[str, str]] = {}
    holders: dict[str, str] = {}
    rules: dict[str, str] = {}
    ids = list(dict.fromkeys(lead_ids))
    for chunk in _chunks(ids):
        for lead_id, partner_id, outcome in st.where_in(conn, X, ("lead_id", "partner_id", "outcome"), "lead_id", chunk,
                                                        order_by="id"):
            excluded.setdefault(lead_id, {})[partner_id] = outcome
        for lead_id, partner_id, rule, status in st.where_in(conn, O, ("lead_id", "partner_id", "rule", "status"),
                                                             "lead_id", chunk, order_by="id"):
            if status not in ("live", "accepted"):
                continue  # (filtered here, not in SQL: see _by_lead)
            if partner_id:
                holders[lead_id] = partner_id
            if rule:
                rules[lead_id] = rule
    return excluded, holders, rules


def oldest_live_offer(conn: Connection) -> dict[str, Any] | None:
    """The live offer waiting longest: what a channel manager chases first."""
    row = conn.execute(
        select(O.c.lead_id, O.c.partner_id, O.c.queue_id, O.c.offered_at, O.c.deadline)
        .where(O.c.status == "live").order_by(O.c.offered_at, O.c.id).limit(1)
    ).first()
    return dict(row._mapping) if row else None
