"""Incumbents as rows (state migration 10): read for the companies of the leads at hand,
written as learned, capped and forgotten here — never loaded or saved whole.

The same facts the routing state's document kept before, with the same rules: of two
partners on a company the later wins (a write of an earlier fact changes nothing, whoever
commits first: two connectors learning different companies both keep theirs); beyond
rules.state.KEEP_INCUMBENTS_MOST the oldest go, down to KEEP_INCUMBENTS.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection, delete, func, select

from jobs.state import schema
from jobs.state import store as st
from rules.state import KEEP_INCUMBENTS, KEEP_INCUMBENTS_MOST

T = schema.incumbents
Fact = tuple[str, int, str]  # (partner, since: epoch seconds, 0 undated; how)


def _fit(keys: Iterable[str]) -> list[str]:
    # PostgreSQL takes no NUL in text: a domain typed with one names no company
    return [k for k in dict.fromkeys(keys) if "\x00" not in k]


def read(conn: Connection, keys: Iterable[str]) -> dict[str, Fact]:
    """The incumbents kept under `keys` (one indexed query per 500 keys)."""
    wanted = _fit(keys)
    if not wanted:
        return {}
    return {k: (p, int(since), how) for k, p, since, how in
            st.where_in(conn, T, ("key", "partner_id", "since", "how"), "key", wanted)}


def read_all(conn: Connection) -> dict[str, Fact]:
    """Every incumbent: for a one-off (a preview, an explanation), never per transaction."""
    return {k: (p, int(since), how) for k, p, since, how in conn.execute(select(T.c.key, T.c.partner_id, T.c.since,
                                                                             T.c.how))}


def write(conn: Connection, learned: dict[str, Fact]) -> int:
    """Keep what was learned where it is later than what is kept (as late: the newer word
    on it); then the cap. Returns how many the cap let go."""
    keys = _fit(learned)
    if not keys:
        return 0
    st.upsert(conn, T, [(k, *learned[k]) for k in keys], ["key"], names=("key", "partner_id", "since", "how"),
              only_where=f"{T.name}.since <= excluded.since")
    return trim(conn)


def trim(conn: Connection) -> int:
    """Beyond KEEP_INCUMBENTS_MOST the oldest go (undated first), down to KEEP_INCUMBENTS:
    the trim is paid once per some 2,000 new companies, not at every acceptance."""
    n = conn.execute(select(func.count()).select_from(T)).scalar() or 0
    if n <= KEEP_INCUMBENTS_MOST:
        return 0
    oldest = select(T.c.key).order_by(T.c.since, T.c.key).limit(n - KEEP_INCUMBENTS).scalar_subquery()
    return conn.execute(delete(T).where(T.c.key.in_(oldest))).rowcount or 0


def forget(conn: Connection, before: datetime) -> int:
    """Drop what partners were learned to work before `before` (undated facts stay)."""
    cut = int(before.timestamp())
    return conn.execute(delete(T).where(T.c.since > 0, T.c.since < cut)).rowcount or 0


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(T)).scalar() or 0
