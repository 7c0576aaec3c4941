"""Job: keep the state database small — old job runs, settled outbox entries, dead instances.

The decision audit, offers and exclusions are kept: they are the history a channel
manager asks about. What goes is bookkeeping nobody reads after a month.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from jobs.state import schema

KEEP_RUNS = timedelta(days=30)
KEEP_SETTLED_WRITES = timedelta(days=30)
KEEP_GONE_INSTANCES = timedelta(days=7)


def run(cx, now: datetime) -> dict[str, int]:
    with cx.store.begin() as conn:
        runs = conn.execute(delete(schema.job_runs).where(schema.job_runs.c.started < now - KEEP_RUNS)).rowcount
        writes = conn.execute(delete(schema.outbox).where(
            schema.outbox.c.status.in_(("confirmed", "dropped")),
            schema.outbox.c.updated_at < now - KEEP_SETTLED_WRITES)).rowcount
        gone = conn.execute(delete(schema.instances).where(
            schema.instances.c.seen_at < now - KEEP_GONE_INSTANCES)).rowcount
    return {k: v for k, v in (("job_runs_pruned", runs), ("outbox_pruned", writes), ("instances_pruned", gone)) if v}
