"""Job: keep the state database small — old job runs, settled outbox entries, dead
instances, and leads whose routing ended longer ago than `[state] retention_days`.

A lead with a live or accepted offer is never pruned; one that is closed (converted,
deleted) or released to a person goes with its offers, bars, decisions and writes
once it has been quiet for the retention period (default 90 days): the state keeps
what routing needs, not a second copy of the org's history.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from jobs.state import schema

if TYPE_CHECKING:
    from jobs.context import Context

KEEP_RUNS = timedelta(days=30)
KEEP_SETTLED_WRITES = timedelta(days=30)
KEEP_GONE_INSTANCES = timedelta(days=7)


ENDED = ("closed", "released")


def run(cx: Context, now: datetime) -> dict[str, int]:
    retention = timedelta(days=cx.settings.state.retention_days)
    with cx.store.begin() as conn:
        ended = prune_ended_leads(conn, now - retention)
        runs = conn.execute(delete(schema.job_runs).where(schema.job_runs.c.started < now - KEEP_RUNS)).rowcount
        writes = conn.execute(delete(schema.outbox).where(
            schema.outbox.c.status.in_(("confirmed", "dropped")),
            schema.outbox.c.updated_at < now - KEEP_SETTLED_WRITES)).rowcount
        writes += conn.execute(delete(schema.activity_tasks).where(
            schema.activity_tasks.c.status.in_(("confirmed", "dropped")),
            schema.activity_tasks.c.updated_at < now - KEEP_SETTLED_WRITES)).rowcount
        gone = conn.execute(delete(schema.instances).where(
            schema.instances.c.seen_at < now - KEEP_GONE_INSTANCES)).rowcount
    return {k: v for k, v in (("job_runs_pruned", runs), ("outbox_pruned", writes), ("instances_pruned", gone),
                              ("ended_leads_pruned", ended)) if v}


def prune_ended_leads(conn, before: datetime, batch: int = 5000) -> int:
    """Remove leads that ended before `before`, with everything kept about them."""
    L, O = schema.leads, schema.offers
    held = select(O.c.lead_id).where(O.c.status.in_(("live", "accepted")))
    ids = [r[0] for r in conn.execute(select(L.c.lead_id).where(
        L.c.state.in_(ENDED), L.c.updated_at < before, L.c.lead_id.not_in(held)).limit(batch))]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        conn.execute(delete(schema.outbox).where(schema.outbox.c.lead_id.in_(chunk)))
        conn.execute(delete(schema.decisions).where(schema.decisions.c.lead_id.in_(chunk)))
        conn.execute(delete(schema.exclusions).where(schema.exclusions.c.lead_id.in_(chunk)))
        conn.execute(delete(O).where(O.c.lead_id.in_(chunk)))
        conn.execute(delete(L).where(L.c.lead_id.in_(chunk)))
    return len(ids)
