"""Job: leads deleted in Salesforce end their offers (one queryAll call)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime, timedelta

from jobs import lifecycle
from jobs.state import offers as of
from jobs.state import store as st

if TYPE_CHECKING:
    from jobs.context import Context

WATERMARK = "leads:deleted"
FIRST_LOOK = timedelta(days=30)  # the recycle bin keeps deleted rows about this long


def run(cx: Context, now: datetime) -> dict[str, int]:
    with cx.store.connect() as conn:
        wm = st.get_watermark(conn, WATERMARK)
    start = (wm - cx.lookback) if wm else now - FIRST_LOOK
    ids = cx.client.deleted(cx.mappings.sobject("lead"), start)  # no upper bound: see connector/reads.py
    closed = 0
    with cx.store.begin() as conn:
        known = of.get_leads(conn, ids)
        state = lifecycle.load_state(conn, known)
        for lead_id, row in known.items():
            if row["state"] == "closed":
                continue
            lifecycle.release(conn, state, lead_id, "lead deleted in Salesforce", now, final_state="closed")
            closed += 1
        lifecycle.save_state(conn, state, now)
        st.set_watermark(conn, WATERMARK, now, now)
    return {"deleted_seen": len(ids), "closed": closed}
